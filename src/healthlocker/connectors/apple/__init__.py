"""Apple Health: an export.zip or export.xml (the Health app's "Export All Health Data")."""

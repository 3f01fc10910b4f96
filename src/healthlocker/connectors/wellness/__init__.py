"""Wellness exports: MyFitnessPal and Peloton CSVs, and the CSV rows and resources they share."""

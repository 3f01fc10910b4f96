"""SMART Health Links (HL7 SMART Health Cards and Links IG): reading a ``shlink:/`` link --
its manifest, its encrypted files, the SMART Health Cards in them and their issuers' signatures
-- and the link, encryption and key parts that ``healthlocker share`` makes links with."""

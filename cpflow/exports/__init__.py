"""Exchange formats out of cpflow: IATI 2.03 activity files (`iati`) and HXL-tagged
tables (`hxl`), each checked against its standard's schema before it is written."""

"""Reference data: ISTAT municipalities and ATECO activity codes."""

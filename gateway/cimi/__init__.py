"""The CIMI vocabulary: resource types, their wire format, hrefs. Pure: no HTTP."""

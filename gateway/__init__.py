"""cimi-gateway: the DMTF CIMI REST API in front of real clouds."""

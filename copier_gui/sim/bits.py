"""Bit values of SymbolInfo masks that the real MetaTrader5 package does not export.

MQL5 defines them; the Python package leaves them out, so the simulated terminal must not expose
them as attributes either. The engine uses them internally under names that cannot be mistaken
for the package's.
"""

FILLING_FOK = 1
FILLING_IOC = 2
FILLING_BOC = 4

EXPIRATION_GTC = 1
EXPIRATION_DAY = 2
EXPIRATION_SPECIFIED = 4
EXPIRATION_SPECIFIED_DAY = 8

ORDER_MARKET = 1
ORDER_LIMIT = 2
ORDER_STOP = 4
ORDER_STOP_LIMIT = 8
ORDER_SL = 16
ORDER_TP = 32
ORDER_CLOSEBY = 64

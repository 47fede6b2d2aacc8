"""sim: an agent-based simulator of a cross-border e-commerce firm's internationalization.

The reference case is Alibaba Group's overseas expansion 2010-2021 as analysed in Li & Li (2022),
*iBusiness* 14:270-283 (https://doi.org/10.4236/ib.2022.144020).
"""

__version__ = "0.1.0"

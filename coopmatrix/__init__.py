"""coopmatrix: who gives which assistance against terrorism, where, for whom."""

"""Moving in from Cozy and MesInfos, and out to Cozy (docs/cozy.md)."""

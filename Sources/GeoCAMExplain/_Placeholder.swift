enum _E {}

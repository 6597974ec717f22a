"""Use cases of the bridge to the central source information system: bulletins in, reports and master data out."""

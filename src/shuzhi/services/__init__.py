"""One function per use case over a unit of work: the only layer that commits and checks permissions."""

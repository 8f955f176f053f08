//! OpenTimestamps interoperability.

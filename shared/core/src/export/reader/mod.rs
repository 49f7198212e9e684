//! Placeholder: the export reader lands here.

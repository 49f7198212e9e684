//! Secret references. STUB: replaced by the signatures/sources work.

//! Delivery. STUB.

//! HubSpot CRM client. STUB: replaced by the HubSpot work.

//! Invitations to post-mortem review meetings as iCalendar (RFC 5545) files.

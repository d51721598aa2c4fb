//! dj-rest-auth's endpoints (`API=rest-auth`, restauth-api.md §2) under the
//! prefix, with allauth's registration under `registration/`.

use super::Route;

/// dj-rest-auth's endpoints.
pub(crate) const ROUTES: &[Route] = &[];

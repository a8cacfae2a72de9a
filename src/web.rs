//! The officers' console: a page, its scripts and styles, built into the binary so that the
//! console works on an air-gapped network with nothing to install. The server answers `GET /`
//! and `GET /assets/…` from [`asset`]; everything else the page needs comes from the JSON API.

use std::sync::LazyLock;

use serde_json::json;

use crate::taxonomy::Taxonomy;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON: &str = "application/json";
const SVG: &str = "image/svg+xml";

/// Every file of `web/` with its request path.
const FILES: &[(&str, &str, &[u8])] = &[
    ("/index.html", HTML, include_bytes!("../web/index.html")),
    ("/assets/style.css", CSS, include_bytes!("../web/style.css")),
    ("/assets/icon.svg", SVG, include_bytes!("../web/icon.svg")),
    ("/assets/app.js", JS, include_bytes!("../web/app.js")),
    ("/assets/api.js", JS, include_bytes!("../web/api.js")),
    ("/assets/dom.js", JS, include_bytes!("../web/dom.js")),
    ("/assets/queue.js", JS, include_bytes!("../web/queue.js")),
    ("/assets/live.js", JS, include_bytes!("../web/live.js")),
    ("/assets/viewer.js", JS, include_bytes!("../web/viewer.js")),
    ("/assets/details.js", JS, include_bytes!("../web/details.js")),
    ("/assets/review.js", JS, include_bytes!("../web/review.js")),
    ("/assets/keys.js", JS, include_bytes!("../web/keys.js")),
    ("/assets/stats.js", JS, include_bytes!("../web/stats.js")),
    ("/assets/admin.js", JS, include_bytes!("../web/admin.js")),
    ("/assets/password.js", JS, include_bytes!("../web/password.js")),
    ("/assets/idle.js", JS, include_bytes!("../web/idle.js")),
];

/// The goods taxonomy as the console reads it: category names for people, and the HS prefixes
/// that tell which category a declared item falls in, so that the page compares the same way
/// triage does without a copy of the table that could drift.
static GOODS: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let taxonomy = Taxonomy::built_in();
    let categories: Vec<_> = taxonomy
        .categories
        .iter()
        .map(|c| json!({ "id": c.id, "name": c.name, "hs_prefixes": c.hs_prefixes }))
        .collect();
    serde_json::to_vec(&json!({ "version": taxonomy.version, "categories": categories }))
        .expect("a JSON value serialises")
});

/// The content type and bytes served at a request path, or `None` when the console has no such
/// file. `/` is the page itself.
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    let path = if path == "/" { "/index.html" } else { path };
    if path == "/assets/goods.json" {
        return Some((JSON, GOODS.as_slice()));
    }
    FILES.iter().find(|(p, _, _)| *p == path).map(|&(_, content_type, bytes)| (content_type, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &str) -> &'static str {
        std::str::from_utf8(asset(path).unwrap_or_else(|| panic!("{path} missing")).1).unwrap()
    }

    #[test]
    fn root_is_the_page() {
        let (content_type, bytes) = asset("/").unwrap();
        assert_eq!(content_type, HTML);
        assert_eq!(bytes, asset("/index.html").unwrap().1);
        assert!(text("/").contains("<title>"));
    }

    #[test]
    fn unknown_paths_are_not_served() {
        for path in ["", "/assets/", "/assets/missing.js", "/assets/../Cargo.toml", "/web/app.js", "/ASSETS/app.js"] {
            assert!(asset(path).is_none(), "{path}");
        }
    }

    /// A renamed or forgotten module would only show as a blank page in a browser.
    #[test]
    fn every_referenced_asset_is_served() {
        for &(path, content_type, bytes) in FILES {
            let source = std::str::from_utf8(bytes).unwrap();
            let references = source
                .split("/assets/")
                .skip(1)
                .chain(if content_type == JS { source.split("from \"./").skip(1).collect::<Vec<_>>() } else { vec![] })
                .map(|rest| rest.split(['"', '\'', '?', ')', '`']).next().unwrap());
            for reference in references {
                assert!(asset(&format!("/assets/{reference}")).is_some(), "{path} refers to missing /assets/{reference}");
            }
        }
    }

    #[test]
    fn goods_cover_the_taxonomy() {
        let goods: serde_json::Value = serde_json::from_slice(asset("/assets/goods.json").unwrap().1).unwrap();
        let ids: Vec<_> = goods["categories"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, Taxonomy::built_in().labels().collect::<Vec<_>>());
        assert!(goods["categories"][1]["hs_prefixes"].as_array().is_some_and(|p| !p.is_empty()));
    }
}

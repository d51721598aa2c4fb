//! The settings tables of `docs/configuration.md`, rendered from the
//! declarations. A test fails when the document and the code disagree.

use super::{Section, Shown, declarations};

/// The table of `section` as Markdown.
pub fn table(section: Section) -> String {
    let mut text = String::from("| name | default | meaning |\n|---|---|---|\n");
    for setting in declarations().into_iter().filter(|d| d.section == section) {
        let mut name = format!("`{}`", setting.name());
        for alias in setting.aliases {
            name.push_str(&format!(" (alias `{alias}`)"));
        }
        let default = match &setting.default {
            Shown::Same(value) => value.clone(),
            Shown::Profile { safe, drr } => format!("{safe} (`COMPAT=drr`: {drr})"),
        };
        text.push_str(&format!(
            "| {name} | {default} | {} |\n",
            setting.doc.trim()
        ));
    }
    text
}

/// The markers around each generated table in the document.
pub fn markers(section: Section) -> (String, String) {
    let name = format!("{section:?}").to_lowercase();
    (
        format!("<!-- settings:{name} (generated from crates/auth-server/src/config/mod.rs) -->\n"),
        format!("<!-- /settings:{name} -->"),
    )
}

/// `document` with every generated table rendered anew.
pub fn render(document: &str) -> Result<String, String> {
    let mut out = document.to_owned();
    for section in [
        Section::Server,
        Section::Drr,
        Section::Behaviour,
        Section::Djoser,
        Section::RestAuth,
    ] {
        let (open, close) = markers(section);
        let start = out
            .find(&open)
            .ok_or_else(|| format!("no {open:?} marker"))?
            + open.len();
        let end = start
            + out[start..]
                .find(&close)
                .ok_or_else(|| format!("no {close:?} marker"))?;
        out.replace_range(start..end, &table(section));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");

    #[test]
    fn the_documented_settings_are_the_declared_ones() {
        let document = std::fs::read_to_string(DOC).unwrap();
        let rendered = render(&document).unwrap();
        if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
            std::fs::write(DOC, &rendered).unwrap();
            return;
        }
        assert!(
            rendered == document,
            "docs/configuration.md disagrees with the settings declared in config/mod.rs; \
             run `UPDATE_DOCS=1 cargo test -p auth-server the_documented_settings` and review the diff"
        );
    }
}

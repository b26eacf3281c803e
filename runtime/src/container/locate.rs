//! Which bundle `run NAME` means when NAME is not runc's plain container id (see the help of
//! `run`'s id argument).

use std::path::{Path, PathBuf};

use crate::BUNDLE_STORE;

#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error("bundle {}: {source}", dir.display())]
    Canonicalize { dir: PathBuf, source: std::io::Error },
    #[error(
        "no bundle for {name:?}: looked for {places}; pass --bundle DIR, run it from the bundle directory, or register it with `ln -s DIR {BUNDLE_STORE}/NAME`"
    )]
    NotFound { name: String, places: String },
}

/// runc's meaning holds whenever --bundle is given or ./config.json exists. Otherwise the
/// argument names a bundle (see the `id` argument's help): the id is what the user typed, never
/// a name found by following links, so `runtime kill NAME` works on what `run NAME` started.
pub fn resolve(bundle: Option<&Path>, name: &str) -> Result<(PathBuf, String), LocateError> {
    if let Some(b) = bundle {
        return Ok((b.to_path_buf(), name.to_string()));
    }
    if Path::new("config.json").exists() {
        return Ok((PathBuf::from("."), name.to_string()));
    }
    let arg = name.trim_end_matches('/');
    let looked: Vec<PathBuf> = if arg.contains('/') { vec![PathBuf::from(arg)] } else { vec![PathBuf::from(arg), Path::new(BUNDLE_STORE).join(arg)] };
    for dir in &looked {
        if dir.join("config.json").is_file() {
            let id = if arg.contains('/') { id_from_path(Path::new(arg)) } else { arg.to_string() };
            let abs = std::fs::canonicalize(dir).map_err(|source| LocateError::Canonicalize { dir: dir.clone(), source })?;
            return Ok((abs, id));
        }
    }
    let mut places = vec!["./config.json (the current directory as the bundle)".to_string()];
    places.extend(looked.iter().map(|d| d.join("config.json").display().to_string()));
    Err(LocateError::NotFound { name: name.to_string(), places: places.join(", ") })
}

/// The container id for a bundle given as a path: its last component as typed, or the one
/// before it when that is the generic `bundle`.
fn id_from_path(p: &Path) -> String {
    let mut parts = p.components().rev().filter_map(|c| match c {
        std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
        _ => None,
    });
    match parts.next() {
        Some(last) if last == "bundle" => parts.next().unwrap_or(last),
        Some(last) => last,
        None => p.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::id_from_path;
    use std::path::Path;

    #[test]
    fn ids_from_paths_are_what_was_typed() {
        assert_eq!(id_from_path(Path::new("/var/lib/ocirt/mediawiki/bundle")), "mediawiki");
        assert_eq!(id_from_path(Path::new("bundles/mediawiki")), "mediawiki");
        assert_eq!(id_from_path(Path::new("./wiki")), "wiki");
        assert_eq!(id_from_path(Path::new("/bundle")), "bundle");
    }
}

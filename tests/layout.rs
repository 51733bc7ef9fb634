//! The shape of the source: no module of `src/app` or `src/engine` imports
//! a sibling that imports it back (directly or around a loop), no source file
//! passes 700 lines, and the app's systems take grouped parameters instead
//! of silencing clippy. A file-level import graph is read from `use` paths
//! (`crate::`, `super::`, `self::` and bare child paths); test modules are
//! left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Most lines a source file may have.
const MAX_LINES: usize = 700;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a/b/mod.rs` and `a/b.rs` are module `a::b` under `root`.
fn module_of(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).expect("under the root").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Source without line comments and without the `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// The paths named after `crate::`, `super::` or `self::`, resolved to
/// module paths under `prefix` (`app` or `engine`), and bare child paths.
fn imports(text: &str, here: &[String], prefix: &str, children: &[String]) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(ident(bytes[i - 1]) || bytes[i - 1] == ':');
        if !starts_word || !ident(bytes[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && (ident(bytes[j]) || (bytes[j] == ':' && bytes.get(j + 1) == Some(&':'))) {
            j += if bytes[j] == ':' { 2 } else { 1 };
        }
        let path: Vec<String> =
            bytes[i..j].iter().collect::<String>().split("::").filter(|s| !s.is_empty()).map(String::from).collect();
        // A `{a, b::c}` list after the path adds each item.
        let tails: Vec<Vec<String>> = if bytes.get(j) == Some(&'{') && bytes[..j].ends_with(&[':', ':']) {
            let end = bytes[j..].iter().position(|&c| c == '}').map_or(bytes.len(), |k| j + k);
            let list: String = bytes[j + 1..end].iter().collect();
            list.split(',').map(|t| t.trim().split("::").map(String::from).collect()).collect()
        } else {
            vec![Vec::new()]
        };
        // `pub(super)` and a bare `self` name no module.
        let base = match path.first().map(String::as_str).filter(|_| path.len() > 1 || bytes.get(j) == Some(&'{')) {
            Some("crate") if path.get(1).map(String::as_str) == Some(prefix) => Some(path[2..].to_vec()),
            Some("super") => {
                let mut base = here[..here.len().saturating_sub(1)].to_vec();
                let mut rest = &path[1..];
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                Some(base)
            }
            Some("self") => Some(here.iter().cloned().chain(path[1..].iter().cloned()).collect()),
            Some(first) if children.iter().any(|c| c == first) => {
                Some(here.iter().cloned().chain(path.iter().cloned()).collect())
            }
            _ => None,
        };
        if let Some(base) = base {
            for tail in &tails {
                out.push(base.iter().cloned().chain(tail.iter().cloned()).collect());
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// Strongly connected groups (more than one module) of the import graph.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Reachability is small here: a module is in a circle with every module
    // it reaches that reaches it back.
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reach(m))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for (m, r) in &reaches {
        let group: Vec<String> =
            r.iter().filter(|o| *o != *m && reaches.get(o).is_some_and(|back| back.contains(*m))).cloned().collect();
        if !group.is_empty() {
            let mut all = group;
            all.push((*m).clone());
            all.sort();
            groups.insert(all);
        }
    }
    groups.into_iter().collect()
}

fn graph_of(root: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files.iter().map(|f| (module_of(root, f), f.clone())).collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let children: Vec<String> = modules
            .keys()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
            .map(|m| m[m.len() - 1].clone())
            .collect();
        let text = code(&std::fs::read_to_string(file).expect("readable"));
        let mut targets = BTreeSet::new();
        for path in imports(&text, module, prefix, &children) {
            // The longest module prefix of the path is the file it names.
            let target = (1..=path.len()).rev().map(|k| path[..k].to_vec()).find(|p| modules.contains_key(p));
            if let Some(target) = target.filter(|t| t != module) {
                targets.insert(target.join("::"));
            }
        }
        graph.insert(module.join("::"), targets);
    }
    graph
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for (root, prefix) in [("src/app", "app"), ("src/engine", "engine")] {
        let graph = graph_of(Path::new(root), prefix);
        assert!(graph.len() > 10, "{root}: too few modules found ({})", graph.len());
        assert!(graph.values().any(|t| !t.is_empty()), "{root}: no imports found");
        assert_eq!(circles(&graph), Vec::<Vec<String>>::new(), "import circles in {root}");
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
        ("d".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(circles(&graph), vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]);
    let here = ["ui".to_string(), "panel".to_string()];
    let found = imports(
        "pub(super) fn f() {}\nuse super::{style::WARN, state};\nuse crate::app::run::Focused;",
        &here,
        "app",
        &[],
    );
    assert!(!found.contains(&vec!["ui".to_string()]), "pub(super) is no import: {found:?}");
    assert!(found.contains(&vec!["ui".to_string(), "style".to_string(), "WARN".to_string()]), "{found:?}");
    assert!(found.contains(&vec!["run".to_string(), "Focused".to_string()]), "{found:?}");
}

#[test]
fn no_source_file_passes_700_lines() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).expect("readable").lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(files.len() > 50);
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

#[test]
fn app_systems_group_their_parameters_instead_of_silencing_clippy() {
    let mut files = Vec::new();
    rust_files(Path::new("src/app"), &mut files);
    let silenced: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).expect("readable");
            text.contains("clippy::too_many_arguments") || text.contains("clippy::type_complexity")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(silenced.is_empty(), "{silenced:?}");
}

//! Cross-validation folds: which rows must be tested together, so that a campaign seen in
//! training is never the one tested (the same handle, the same site, the same file).

use std::collections::HashMap;

use super::train::Dataset;
use crate::rules::normalize::Normalized;

/// The fold of every example: comments naming the same handle (and rows of the same
/// `--group-file`, or the same JSON Lines `group`; in a `--site-file`, rows naming the same
/// site) share a fold. Groups are dealt out largest
/// first to the fold with the fewest rows, per file (the `--group-file` files together), so
/// every file is spread evenly over the folds.
pub fn folds(ds: &Dataset, k: usize) -> Vec<usize> {
    let n = ds.examples.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut keys: Vec<String> = vec![String::new(); n];
    let grouping = |i: usize| ds.files[ds.examples[i].file].grouping.as_str();
    let norms: Vec<Option<Normalized>> = (0..n)
        .map(|i| (grouping(i) != "file").then(|| Normalized::new(&ds.examples[i].text)))
        .collect();
    // Sites named in disguise or with digits somewhere in a `sites` file; a row naming one of
    // them in plain letters ("agustoto") joins the rows that disguise it.
    let site_keys: Vec<Vec<String>> = (0..n)
        .map(|i| match &norms[i] {
            Some(norm) if grouping(i) == "sites" => {
                crate::rules::sites::site_keys(norm, &ds.examples[i].text)
            }
            _ => Vec::new(),
        })
        .collect();
    let known_sites: std::collections::HashSet<&str> = site_keys
        .iter()
        .flatten()
        .filter(|k| k.len() >= 5)
        .map(String::as_str)
        .collect();
    for (i, ex) in ds.examples.iter().enumerate() {
        let mut names: Vec<String> = Vec::new();
        if let Some(norm) = &norms[i] {
            let norm = norm.text.as_str();
            for (s, e) in crate::rules::features::mentions(norm)
                .into_iter()
                .chain(crate::rules::features::hashtags(norm))
            {
                names.push(norm[s..e].to_string());
            }
            if grouping(i) == "sites" {
                for k in &site_keys[i] {
                    names.push(format!("site:{k}"));
                }
                for w in norm.split(|c: char| !c.is_ascii_alphanumeric()) {
                    if known_sites.contains(w) {
                        names.push(format!("site:{w}"));
                    }
                }
            }
            if let Some(g) = &ex.group {
                names.push(format!("group:{g}"));
            }
            if names.is_empty() {
                names.push(format!("text:{}", norm));
            }
        } else {
            names.push(format!("file:{}", ex.file));
        }
        names.sort();
        keys[i] = names[0].clone();
        for name in names {
            match owner.get(&name) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(name, i);
                }
            }
        }
    }
    // Groups, keyed by their smallest name, within each balancing family.
    let mut groups: HashMap<usize, (String, Vec<usize>)> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let root = find(&mut parent, i);
        let g = groups
            .entry(root)
            .or_insert_with(|| (key.clone(), Vec::new()));
        if *key < g.0 {
            g.0 = key.clone();
        }
        g.1.push(i);
    }
    let family = |i: usize| {
        let f = ds.examples[i].file;
        if ds.files[f].grouping == "file" {
            usize::MAX
        } else {
            f
        }
    };
    let mut list: Vec<(usize, String, Vec<usize>)> = groups
        .into_values()
        .map(|(key, rows)| (family(rows[0]), key, rows))
        .collect();
    list.sort_by(|a, b| {
        (a.0, std::cmp::Reverse(a.2.len()), &a.1).cmp(&(b.0, std::cmp::Reverse(b.2.len()), &b.1))
    });
    let mut fold = vec![0usize; n];
    let mut sizes: HashMap<usize, Vec<usize>> = HashMap::new();
    for (fam, _, rows) in list {
        let s = sizes.entry(fam).or_insert_with(|| vec![0; k]);
        let best = (0..k).min_by_key(|&f| (s[f], f)).expect("k > 0");
        s[best] += rows.len();
        for r in rows {
            fold[r] = best;
        }
    }
    fold
}

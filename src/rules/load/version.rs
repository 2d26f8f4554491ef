//! A rule's version: a hash of what it says, so that a rule counts as edited when its
//! definition changed, not when its file was rewritten (a redeploy, a checkout, a ConfigMap).
//!
//! The hash covers every key of the rule except `description` and `examples`, read as TOML
//! values (comments, spacing, quoting and key order do not count), plus the entries of every
//! list it names and the weights of every model it asks: editing a list or retraining a model
//! changes what the rule matches as surely as editing the rule.

use std::collections::HashMap;
use std::fmt::Write;

use sha2::{Digest, Sha256};
use toml_edit::{Item, TableLike, Value};

/// Keys that change what people read about a rule, not what it does.
const NOT_BEHAVIOUR: &[&str] = &["description", "examples"];

/// The version of the rule `t`: 16 hex digits of SHA-256. `lists` are the loaded lists by name
/// (`None`: missing), `model_hash` gives a model's weights hash by name.
pub(super) fn rule_version(
    t: &dyn TableLike,
    lists: &HashMap<String, Option<Vec<String>>>,
    model_hash: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut canon = String::new();
    let mut extra = Vec::new();
    table(t, &mut canon, &mut extra, true);
    extra.sort();
    extra.dedup();
    for name in extra {
        match name.split_once(':') {
            Some(("list", l)) => {
                let _ = write!(canon, "\nlist {l}: {:?}", lists.get(l));
            }
            Some(("model", m)) => {
                let _ = write!(canon, "\nmodel {m}: {:?}", model_hash(m));
            }
            _ => {}
        }
    }
    let digest = Sha256::digest(canon.as_bytes());
    digest[..8].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Writes the table with its keys sorted; `extra` collects `list:NAME` and `model:NAME`.
fn table(t: &dyn TableLike, out: &mut String, extra: &mut Vec<String>, top: bool) {
    let mut keys: Vec<(&str, &Item)> = t
        .iter()
        .filter(|(k, _)| !(top && NOT_BEHAVIOUR.contains(k)))
        .collect();
    keys.sort_by_key(|(k, _)| *k);
    out.push('{');
    for (k, item) in keys {
        let _ = write!(out, "{k:?}=");
        if k == "model" {
            if let Some(name) = item
                .as_table_like()
                .and_then(|m| m.get("name"))
                .and_then(Item::as_str)
            {
                extra.push(format!("model:{name}"));
            }
        }
        self::item(item, out, extra);
        out.push(';');
    }
    out.push('}');
}

fn item(i: &Item, out: &mut String, extra: &mut Vec<String>) {
    match i {
        Item::None => {}
        Item::Value(v) => value(v, out, extra),
        Item::Table(t) => table(t, out, extra, false),
        Item::ArrayOfTables(a) => {
            out.push('[');
            for t in a.iter() {
                table(t, out, extra, false);
                out.push(',');
            }
            out.push(']');
        }
    }
}

fn value(v: &Value, out: &mut String, extra: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let s = s.value();
            if let Some(name) = s.strip_prefix("list:") {
                extra.push(format!("list:{}", name.trim()));
            }
            let _ = write!(out, "{s:?}");
        }
        Value::Integer(i) => {
            let _ = write!(out, "{}", i.value());
        }
        Value::Float(f) => {
            let _ = write!(out, "{:?}", f.value());
        }
        Value::Boolean(b) => {
            let _ = write!(out, "{}", b.value());
        }
        Value::Datetime(d) => {
            let _ = write!(out, "{}", d.value());
        }
        Value::Array(a) => {
            out.push('[');
            for v in a.iter() {
                value(v, out, extra);
                out.push(',');
            }
            out.push(']');
        }
        Value::InlineTable(t) => table(t, out, extra, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(src: &str, lists: &[(&str, &[&str])]) -> String {
        let doc: toml_edit::ImDocument<String> = src.parse().unwrap();
        let rule = doc["rule"].as_array_of_tables().unwrap().get(0).unwrap();
        let lists = lists
            .iter()
            .map(|(n, l)| {
                (
                    n.to_string(),
                    Some(l.iter().map(|s| s.to_string()).collect()),
                )
            })
            .collect();
        rule_version(rule, &lists, &|m| Some(format!("weights of {m}")))
    }

    #[test]
    fn the_version_changes_with_what_the_rule_does_only() {
        let base = "[[rule]]\nid = \"a\"\ndescription = \"one\"\n[rule.when]\nwords = [\"x\", \"list:w\"]\n[rule.then]\nhide = true\n";
        let v = version(base, &[("w", &["y"])]);
        // Comments, spacing, quoting, key order and the description do not count.
        let same = "# a comment\n[[rule]]\ndescription = 'two'   # reworded\nid = 'a'\nexamples = { hit = [\"x\"] }\n[rule.then]\nhide=true\n[rule.when]\nwords = [ 'x',\n  'list:w' ]\n";
        assert_eq!(version(same, &[("w", &["y"])]), v);
        // A condition, an action, a list entry: each is an edit.
        assert_ne!(
            version(&base.replace("\"x\"", "\"z\""), &[("w", &["y"])]),
            v
        );
        assert_ne!(
            version(
                &base.replace("hide = true", "delete = true"),
                &[("w", &["y"])]
            ),
            v
        );
        assert_ne!(version(base, &[("w", &["y", "q"])]), v);
        let model = "[[rule]]\nid = \"m\"\n[rule.when]\nmodel = { name = \"scam\", above = 0.9 }\n";
        assert_ne!(
            version(model, &[]),
            version(&model.replace("0.9", "0.8"), &[])
        );
    }
}

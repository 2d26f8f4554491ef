//! Properties of the parts that take outside input, checked with proptest in the normal
//! suite. The fuzz targets in `fuzz/` check the same properties with coverage-guided inputs
//! (see bench/FUZZ.md); each property here names its target.

use commentguard::inbox::split;
use commentguard::ingress::signature::{sign, verify, SignatureError};
use commentguard::rules::normalize::normalize;
use commentguard::rules::RuleSet;
use commentguard::secret::Secret;
use commentguard::store::Delivery;
use proptest::prelude::*;

/// A valid rule file that the mutations below start from.
const RULE_FILE: &str = r#"[[rule]]
id = "investment-scam"
description = "Fake investment testimonials"
on = ["comment", "mention"]
mode = "enforce"
priority = 100
examples = { hit = ["made $9,000 with forex thanks to @mark"], miss = ["what a lovely dress"] }

[rule.when]
words = ["forex", "bitcoin", "list:words"]
contains = ["invest with"]
regex = ['\b(whats\s*app|telegram)\b']

[rule.unless]
author = ["list:words"]

[rule.then]
hide = true
reply = "Hi {author}, please contact us via our website"
"#;

/// Notification-like JSON: the shapes Meta sends, with holes and wrong types.
fn notification() -> impl Strategy<Value = Vec<u8>> {
    let id = prop_oneof![
        "[0-9]{1,18}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!([])),
    ];
    let field = prop_oneof![
        Just("comments".to_string()),
        Just("live_comments".to_string()),
        Just("mentions".to_string()),
        Just("story_insights".to_string()),
        "[a-z_]{0,12}",
    ];
    let change = (field, id.clone(), id.clone(), "\\PC{0,30}").prop_map(|(f, a, b, text)| {
        serde_json::json!({"field": f, "value": {"id": a, "media_id": b, "comment_id": a, "text": text}})
    });
    let entry = (id, prop::collection::vec(change, 0..4), any::<bool>()).prop_map(
        |(id, changes, wrapped)| {
            if wrapped {
                serde_json::json!({"id": id, "time": 1_700_000_000, "changes": changes})
            } else {
                let mut e = changes.into_iter().next().unwrap_or(serde_json::json!({}));
                e["id"] = id;
                e
            }
        },
    );
    prop::collection::vec(entry, 0..4).prop_map(|entries| {
        serde_json::json!({"object": "instagram", "entry": entries})
            .to_string()
            .into_bytes()
    })
}

fn check_split(body: &[u8]) -> Result<(), TestCaseError> {
    match split(body) {
        Delivery::Events(events) => {
            prop_assert!(!events.is_empty());
            for e in &events {
                let prefix = format!("{}:", e.field);
                prop_assert!(e.dedup_key.starts_with(&prefix), "{:?}", e);
                let payload: serde_json::Value = serde_json::from_str(&e.payload)
                    .map_err(|err| TestCaseError::fail(format!("payload not JSON: {err}")))?;
                prop_assert_eq!(payload["field"].as_str(), Some(e.field.as_str()));
            }
            // A redelivery of the same bytes maps to the same keys: stored once.
            let again = match split(body) {
                Delivery::Events(e) => e,
                Delivery::DeadLetter { .. } => {
                    return Err(TestCaseError::fail("second split differs"))
                }
            };
            prop_assert_eq!(events, again);
        }
        Delivery::DeadLetter { reason, body: kept } => {
            prop_assert!(!reason.is_empty());
            // Operators see exactly what was received.
            prop_assert_eq!(kept.as_slice(), body);
        }
    }
    Ok(())
}

/// Random edits of a text: insertions, deletions and duplications at random places.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    let edit = (
        any::<prop::sample::Index>(),
        0usize..12,
        "\\PC{0,6}",
        0u8..3,
    );
    prop::collection::vec(edit, 0..6).prop_map(move |edits| {
        let mut s: Vec<char> = base.chars().collect();
        for (at, len, insert, kind) in edits {
            let i = at.index(s.len() + 1);
            let j = (i + len).min(s.len());
            match kind {
                0 => {
                    s.splice(i..j, std::iter::empty());
                }
                1 => {
                    s.splice(i..i, insert.chars());
                }
                _ => {
                    let piece: Vec<char> = s[i..j].to_vec();
                    s.splice(i..i, piece);
                }
            }
        }
        s.into_iter().collect()
    })
}

/// Loads a folder holding `file` as its only rule file and `list` as `lists/words.txt`.
fn check_rules_load(file: &[u8], list: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10-fuzz.toml");
    std::fs::write(&path, file).unwrap();
    std::fs::create_dir_all(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/words.txt"), list).unwrap();
    if let Err(errors) = RuleSet::load(dir.path()) {
        prop_assert!(!errors.is_empty());
        let lines = String::from_utf8_lossy(file).lines().count().max(1);
        for e in &errors {
            // Every error points at a place a person can open: FILE:LINE:COL.
            prop_assert!(e.line >= 1 && e.col >= 1, "{}", e);
            if e.file == path.display().to_string() {
                prop_assert!(e.line <= lines + 1, "{} (file has {} lines)", e, lines);
            }
            prop_assert!(!e.message.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// fuzz target `inbox_split`.
    #[test]
    fn any_body_splits_into_events_or_a_dead_letter_without_panicking(
        body in prop::collection::vec(any::<u8>(), 0..512)
    ) {
        check_split(&body)?;
    }

    /// fuzz target `inbox_split`, with notification-shaped input.
    #[test]
    fn notification_shaped_bodies_split_consistently(body in notification()) {
        check_split(&body)?;
    }

    /// fuzz target `signature`: the right signature verifies, any other header does not.
    #[test]
    fn only_the_right_signature_verifies(
        body in prop::collection::vec(any::<u8>(), 0..256),
        secret in "[ -~]{1,40}",
        header in prop_oneof!["\\PC{0,80}", "sha256=[0-9a-f]{64}", "sha256=[0-9A-Fa-fxz]{60,68}"],
    ) {
        let secret = Secret::new(secret);
        let right = sign(&body, &secret);
        prop_assert_eq!(verify(Some(&right), &body, std::slice::from_ref(&secret)), Ok(()));
        let result = verify(Some(&header), &body, std::slice::from_ref(&secret));
        // Hex digits may be in either case; the `sha256=` prefix is exact.
        let same = header
            .trim()
            .strip_prefix("sha256=")
            .is_some_and(|h| h.eq_ignore_ascii_case(&right["sha256=".len()..]));
        if same {
            prop_assert_eq!(result, Ok(()));
        } else {
            prop_assert!(result.is_err(), "{header:?} verified");
        }
        prop_assert_eq!(verify(None, &body, &[secret]), Err(SignatureError::Missing));
    }

    /// fuzz target `signature`: a signature for another body never verifies.
    #[test]
    fn a_signature_does_not_carry_over_to_another_body(
        a in prop::collection::vec(any::<u8>(), 0..128),
        b in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        prop_assume!(a != b);
        let secret = Secret::new("s3cret");
        let sig = sign(&a, &secret);
        prop_assert_eq!(verify(Some(&sig), &b, &[secret]), Err(SignatureError::Mismatch));
    }

    /// fuzz target `rules_load`: edits of a valid file load or give FILE:LINE:COL errors.
    #[test]
    fn damaged_rule_files_are_reported_not_fatal(
        file in mutated(RULE_FILE),
        list in "\\PC{0,40}(\n\\PC{0,20}){0,3}",
    ) {
        check_rules_load(file.as_bytes(), list.as_bytes())?;
    }

    /// fuzz target `rules_load`, with arbitrary bytes.
    #[test]
    fn arbitrary_rule_files_are_reported_not_fatal(
        file in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        check_rules_load(&file, b"forex\n")?;
    }

    /// fuzz target `normalize`: normalizing twice changes nothing.
    #[test]
    fn normalizing_twice_changes_nothing(
        s in prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9 ]{0,20}[\u{200B}-\u{200F}\u{FE00}-\u{FE0F}\u{0300}-\u{036F}]{0,4}[а-яА-Я𝐀-𝐳ａ-ｚⓐ-ⓩ ]{0,20}",
        ]
    ) {
        let once = normalize(&s);
        prop_assert_eq!(normalize(&once), once);
    }
}

/// Every file under `dir`, by path, as the in-memory loader takes them.
fn files_under(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// The loader the fuzzer drives (files held in memory) is the loader the service runs: the
/// shipped pack loads the same rules and decides real comments the same, and a broken folder
/// gives the same errors, word for word.
#[test]
fn rules_loaded_from_memory_are_the_rules_loaded_from_disk() {
    use commentguard::rules::{Input, MemoryState};
    let pack = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let disk = RuleSet::load(&pack).expect("the shipped pack loads");
    let memory = RuleSet::load_from_memory(&pack, files_under(&pack)).expect("from memory too");
    let ids = |s: &RuleSet| -> Vec<(String, String)> {
        s.rules().into_iter().map(|r| (r.id, r.version)).collect()
    };
    assert_eq!(ids(&disk), ids(&memory));
    assert_eq!(disk.models().len(), memory.models().len());
    for text in [
        "Made $9,000 with forex thanks to @mark, DM him on WhatsApp +1 555 0100",
        "yang main di𝔾𝔸 ℝ𝕌 𝔻𝔸 ℍ𝕆 𝕂𝕀..semoga hoki",
        "cala a boca sua gorda nojenta ninguém te suporta",
        "love the new colours, @anna you need this",
    ] {
        let input = Input {
            text: text.into(),
            username: Some("someone".into()),
            ..Input::default()
        };
        let state = MemoryState::default();
        assert_eq!(
            disk.evaluate(&input, &state),
            memory.evaluate(&input, &state),
            "{text}"
        );
    }

    // A broken folder: a bad rule, a missing list, a missing model.
    let dir = tempfile::tempdir().unwrap();
    let broken = "[[rule]]\nid = \"x\"\n[rule.when]\nwords = [\"list:nope\"]\nmodel = { name = \"ghost\", above = 0.5 }\nbogus = 1\n[rule.then]\nhide = true\n";
    std::fs::write(dir.path().join("10-broken.toml"), broken).unwrap();
    std::fs::create_dir_all(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/words.txt"), "forex\n").unwrap();
    let Err(from_disk) = RuleSet::load(dir.path()) else {
        panic!("the broken folder loaded")
    };
    let Err(from_memory) = RuleSet::load_from_memory(dir.path(), files_under(dir.path())) else {
        panic!("the broken folder loaded from memory")
    };
    assert!(from_disk.len() >= 3, "{from_disk:?}");
    assert_eq!(from_disk, from_memory);
}

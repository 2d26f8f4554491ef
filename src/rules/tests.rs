//! Behaviour of loading and evaluation as a rule author sees it.

use super::*;

pub(super) fn set(files: &[(&str, &str)]) -> Result<RuleSet, Vec<LoadError>> {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    RuleSet::load(dir.path())
}

pub(super) fn one(body: &str) -> RuleSet {
    set(&[("a.toml", body)]).unwrap_or_else(|e| panic!("{e:?}"))
}

pub(super) fn comment(text: &str) -> Input {
    Input {
        text: text.into(),
        username: Some("someone".into()),
        ..Input::default()
    }
}

pub(super) fn names(d: &Decision) -> Vec<&'static str> {
    d.actions.iter().map(Action::name).collect()
}

/// The actions `s` takes on a comment `text` from someone with no history.
pub(super) fn acts(s: &RuleSet, text: &str) -> Vec<&'static str> {
    names(&s.evaluate(&comment(text), &NoState))
}

#[test]
fn whole_words_do_not_hit_inside_other_words() {
    let s = one("[[rule]]\nid = \"p\"\n[rule.when]\nwords = [\"cunt\", \"free money\"]\n[rule.then]\nhide = true\n");
    assert!(acts(&s, "I live in Scunthorpe").is_empty());
    assert_eq!(acts(&s, "you CUNT!"), ["hide"]);
    assert_eq!(acts(&s, "get FREE   money"), ["hide"]);
    assert!(acts(&s, "free moneyball").is_empty());
}

#[test]
fn disguised_text_matches_and_evidence_shows_it_as_written() {
    let s =
        one("[[rule]]\nid = \"p\"\n[rule.when]\nwords = [\"free\"]\n[rule.then]\nhide = true\n");
    for text in [
        "𝐟𝐫𝐞𝐞 iphone",
        "ｆｒｅｅ iphone",
        "frее iphone",
        "f\u{200B}ree iphone",
    ] {
        let d = s.evaluate(&comment(text), &NoState);
        assert_eq!(names(&d), ["hide"], "{text}");
        let ev = &d.matched[0].evidence[0];
        assert_eq!(&text[ev.start..ev.end], ev.matched);
        assert!(ev.matched.chars().count() >= 4, "{text}: {ev:?}");
    }
}

#[test]
fn leetspeak_and_spaced_letters_only_when_asked() {
    let plain =
        one("[[rule]]\nid = \"p\"\n[rule.when]\nwords = [\"free\"]\n[rule.then]\nhide = true\n");
    let opted = one("[[rule]]\nid = \"p\"\nleetspeak = true\nspaced_letters = true\n[rule.when]\nwords = [\"free\"]\n[rule.then]\nhide = true\n");
    for text in ["fr33 stuff", "f r e e stuff"] {
        assert!(
            plain.evaluate(&comment(text), &NoState).actions.is_empty(),
            "{text}"
        );
        assert_eq!(
            names(&opted.evaluate(&comment(text), &NoState)),
            ["hide"],
            "{text}"
        );
    }
    let d = opted.evaluate(&comment("get f r e e stuff"), &NoState);
    assert_eq!(d.matched[0].evidence[0].matched, "f r e e");
}

#[test]
fn a_spaced_letters_rule_reads_its_regexes_on_letters_written_apart_too() {
    let rule = |spaced: bool| {
        one(&format!(
            "[[rule]]\nid = \"p\"\nspaced_letters = {spaced}\n[rule.when]\nregex = '\\b[a-z]{{3,}}(win|toto)\\b'\n[rule.then]\nhide = true\n"
        ))
    };
    let (plain, opted) = (rule(false), rule(true));
    for text in [
        "main di pulauwin",
        "main di P U L A U W I N",
        "main di 𝗣 𝗨 𝗟 𝗔 𝗨 𝗪 𝗜 𝗡 🔥",
    ] {
        assert_eq!(
            names(&opted.evaluate(&comment(text), &NoState)),
            ["hide"],
            "{text}"
        );
    }
    assert!(plain
        .evaluate(&comment("main di P U L A U W I N"), &NoState)
        .actions
        .is_empty());
    // The evidence is the letters as written.
    let d = opted.evaluate(&comment("rutin ke P U L A U W I N."), &NoState);
    assert_eq!(d.matched[0].evidence[0].matched, "P U L A U W I N");
    // Letters written apart that spell no match leave the comment alone.
    assert!(opted
        .evaluate(&comment("P E A C E and love"), &NoState)
        .actions
        .is_empty());
}

#[test]
fn priority_shadow_stop_and_action_order() {
    let s = one(r#"
[[rule]]
id = "low-delete"
priority = 1
[rule.when]
words = ["scam"]
[rule.then]
delete = true

[[rule]]
id = "high-reply"
priority = 10
[rule.when]
words = ["scam"]
[rule.then]
hide = true
reply = "Hi {author}, {rule} saw {match}"

[[rule]]
id = "shadow"
mode = "shadow"
priority = 50
[rule.when]
words = ["scam"]
[rule.then]
delete = true
stop = true
"#);
    let d = s.evaluate(&comment("total SCAM"), &NoState);
    let ids: Vec<_> = d.matched.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(ids, ["shadow", "high-reply", "low-delete"]);
    assert_eq!(d.matched[0].mode, Mode::Shadow);
    assert_eq!(
        d.actions,
        [
            Action::Reply {
                text: "Hi someone, high-reply saw SCAM".into()
            },
            Action::Delete
        ]
    );
    // The service can shadow a rule without editing files.
    let d = s.evaluate_with(&comment("total scam"), &NoState, &|id| id == "low-delete");
    assert_eq!(names(&d), ["reply", "hide"]);

    let stop = one("[[rule]]\nid = \"a\"\npriority = 5\n[rule.when]\nwords = [\"x\"]\n[rule.then]\nhide = true\nstop = true\n[[rule]]\nid = \"b\"\n[rule.when]\nwords = [\"x\"]\n[rule.then]\ndelete = true\n");
    let d = stop.evaluate(&comment("x"), &NoState);
    assert_eq!(d.matched.len(), 1);
    assert_eq!(names(&d), ["hide"]);
}

#[test]
fn unless_exempts_and_mentions_only_get_replies() {
    let s = set(&[
        (
            "a.toml",
            "[[rule]]\nid = \"a\"\non = [\"comment\", \"mention\"]\n[rule.when]\nwords = [\"promo\"]\n[rule.unless]\nauthor = [\"list:trusted\"]\n[rule.then]\nhide = true\nreply = \"no\"\n",
        ),
        ("lists/trusted.txt", "# our team\n@Brand_Team\n"),
    ])
    .unwrap();
    let mut input = comment("promo here");
    input.username = Some("brand_team".into());
    assert!(s.evaluate(&input, &NoState).matched.is_empty());
    input.username = Some("stranger".into());
    input.kind = Kind::Mention;
    assert_eq!(names(&s.evaluate(&input, &NoState)), ["reply"]);
}

#[test]
fn extended_conditions() {
    let s = one(r#"
[[rule]]
id = "links"
[rule.when]
link_domains = ["bit.ly"]
[rule.then]
hide = true

[[rule]]
id = "contact"
[rule.when]
contact = ["whatsapp", "phone"]
not = { words = ["customer service"] }
[rule.then]
hide = true

[[rule]]
id = "groups"
[rule.when]
any = [{ starts_with = "check out my" }, { exact = "first" }, { min_hashtags = 3, min_caps_ratio = 0.8 }]
[rule.then]
hide = true

[[rule]]
id = "reels-replies"
[rule.when]
media_type = ["REELS"]
is_reply = true
max_length = 3
[rule.then]
hide = true
"#);
    let hit = |t: &str| -> Vec<String> {
        s.evaluate(&comment(t), &NoState)
            .matched
            .into_iter()
            .map(|m| m.rule)
            .collect()
    };
    assert_eq!(hit("see https://bit.ly/x"), ["links"]);
    assert!(hit("see https://notbit.ly/x").is_empty());
    assert_eq!(hit("whatsapp me +44 7700 900123"), ["contact"]);
    assert!(hit("call customer service on whatsapp").is_empty());
    assert_eq!(hit("Check out my page"), ["groups"]);
    assert_eq!(hit("FIRST"), ["groups"]);
    assert_eq!(hit("BUY NOW FOLLOWERS #a #b #c"), ["groups"]);
    assert!(hit("buy now followers #a #b #c").is_empty());
    let mut r = comment("wow");
    r.media_product_type = Some("REELS".into());
    r.parent_id = Some("1".into());
    assert_eq!(s.evaluate(&r, &NoState).matched[0].rule, "reels-replies");
    r.parent_id = None;
    assert!(s.evaluate(&r, &NoState).matched.is_empty());
}

#[test]
fn flood_wave_and_repeat_offender_use_the_state() {
    let s = one(r#"
[[rule]]
id = "flood"
[rule.when]
flood = { count = 3, within = "10m" }
[rule.then]
hide = true

[[rule]]
id = "wave"
[rule.when]
wave = { authors = 3, within = "1h" }
[rule.then]
hide = true

[[rule]]
id = "repeat"
[rule.when]
repeat_offender = { count = 2, within = "1d" }
words = ["hello"]
[rule.then]
reply = "again?"
"#);
    let state = MemoryState::default();
    let at = |user: &str, text: &str, t: i64| Input {
        text: text.into(),
        username: Some(user.into()),
        time: Some(t),
        ..Input::default()
    };
    assert!(s.evaluate(&at("ann", "a", 0), &state).actions.is_empty());
    assert!(s.evaluate(&at("ann", "b", 10), &state).actions.is_empty());
    let d = s.evaluate(&at("ann", "c", 20), &state);
    assert_eq!(d.matched[0].rule, "flood");
    // Outside the window the flood has passed.
    assert!(s
        .evaluate(&at("ann", "d", 10_000), &state)
        .matched
        .iter()
        .all(|m| m.rule != "flood"));

    assert!(s
        .evaluate(&at("u1", "Same Text", 0), &state)
        .actions
        .is_empty());
    assert!(s
        .evaluate(&at("u2", "same   text", 1), &state)
        .actions
        .is_empty());
    let d = s.evaluate(&at("u3", "SAME TEXT", 2), &state);
    assert_eq!(d.matched[0].rule, "wave");

    // ann had one enforced decision (the flood); one more makes her a repeat offender.
    s.evaluate(&at("ann", "x", 30), &state);
    let d = s.evaluate(&at("ann", "hello", 10_050), &state);
    assert!(d.matched.iter().any(|m| m.rule == "repeat"), "{d:?}");
}

#[test]
fn a_file_with_ten_errors_reports_ten_errors_with_positions() {
    let body = r#"[[rule]]
id = "Bad Id"
descripton = "typo"
mode = "loud"
on = ["comment", "dm"]
[rule.when]
word = ["x"]
regex = ['(unclosed', '\w{1000}{1000}']
words = "list:missing"
[rule.then]
hide = "yes"
reply = "hi {user}"

[[rule]]
id = "mention"
on = ["mention"]
[rule.when]
words = ["x"]
[rule.then]
delete = true
"#;
    let errors = set(&[("a.toml", body)]).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let expect = [
        ("a.toml:2:6:", "invalid id"),
        ("a.toml:3:1:", "did you mean `description`"),
        ("a.toml:4:8:", "\"enforce\" or \"shadow\""),
        ("a.toml:5:18:", "\"comment\" or \"mention\""),
        ("a.toml:7:1:", "did you mean `words`"),
        ("a.toml:8:10:", "invalid regex"),
        ("a.toml:8:23:", "too large"),
        ("a.toml:9:9:", "not found"),
        ("a.toml:11:8:", "true or false"),
        ("a.toml:12:9:", "unknown placeholder"),
        ("a.toml:20:1:", "cannot apply to a mention"),
    ];
    assert_eq!(errors.len(), expect.len(), "{shown:#?}");
    for (pos, msg) in expect {
        assert!(
            shown.iter().any(|s| s.contains(pos) && s.contains(msg)),
            "missing {pos} {msg} in {shown:#?}"
        );
    }
}

#[test]
fn errors_across_files_are_all_reported() {
    let errors = set(&[
        (
            "a.toml",
            "[[rule]]\nid = \"dup\"\n[rule.when]\nwords = [\"x\"]\n[rule.then]\nhide = true\n",
        ),
        (
            "b.toml",
            "[[rule]]\nid = \"dup\"\n[rule.when]\nwords = [\"x\"]\n[rule.then]\nhide = true\n",
        ),
        ("c.toml", "[[rule]]\nid = \"c\"\n[rule.then]\nhide = true\n"),
        ("d.toml", "[[rule]\nid = 1"),
        (
            "tests/t.toml",
            "[[case]]\ntext = \"x\"\nexpect = [\"hid\"]\n",
        ),
    ])
    .unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 4, "{shown:#?}");
    assert!(
        shown[0].contains("b.toml:2:6: duplicate rule id `dup`") && shown[0].contains("a.toml:2:6")
    );
    assert!(shown[1].contains("c.toml:1:1: rule `c` has no condition"));
    assert!(shown[2].contains("d.toml:1:") && shown[2].contains("TOML syntax"));
    assert!(shown[3].contains("t.toml:3:11:"));
}

#[test]
fn hostile_input_evaluates_without_panic() {
    let s = one("[[rule]]\nid = \"p\"\nleetspeak = true\nspaced_letters = true\n[rule.when]\nany = [{ words = [\"free\"] }, { regex = 'a+b' }, { links = true }, { has_confusables = true }, { min_emoji_ratio = 0.5 }, { language = [\"en\"] }]\n[rule.then]\nhide = true\n");
    let huge = format!("{}{}", "free ".repeat(200_000), "🔥".repeat(10_000));
    let d = s.evaluate(&comment(&huge), &NoState);
    assert_eq!(names(&d), ["hide"]);
    assert!(s.evaluate(&comment(""), &NoState).actions.is_empty());
    assert_eq!(names(&s.evaluate(&comment("🔥🔥🔥💯"), &NoState)), ["hide"]);
    let blns: Vec<String> =
        serde_json::from_str(include_str!("../../corpora/naughty-strings/blns.json")).unwrap();
    for text in &blns {
        let d = s.evaluate(&comment(text), &MemoryState::default());
        for m in &d.matched {
            for e in &m.evidence {
                assert_eq!(text.get(e.start..e.end), Some(e.matched.as_str()));
            }
        }
    }
}

/// Regexes run only where one of their literals occurs (or always, without one), however many
/// are candidates at once: a regex holds exactly where it matches.
#[test]
fn regex_prefilter_never_changes_what_matches() {
    let mut body = String::new();
    let regexes = [
        r"\bBitcoin\s*\d{2,}\b",
        r"\d{3,}\s*followers",
        r"(?:dm|message)\s+me",
        r"^wow$",
        r"ſtop",
        r"[a-z]+@[a-z]+",
    ];
    for (i, re) in regexes.iter().enumerate() {
        body.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\n[rule.when]\nregex = ['{re}']\n[rule.then]\nhide = true\n\n"
        ));
    }
    // Many rules sharing one literal: all candidates for one comment.
    for i in 0..20 {
        body.push_str(&format!(
            "[[rule]]\nid = \"many{i}\"\n[rule.when]\nregex = ['giveaway\\s*{i}\\b']\n[rule.then]\nhide = true\n\n"
        ));
    }
    let s = one(&body);
    let ids = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .evaluate(&comment(text), &NoState)
            .matched
            .into_iter()
            .map(|m| m.rule)
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids("BITCOIN 500 now"), ["r0"]);
    assert_eq!(ids("bitcoin now"), Vec::<String>::new());
    assert_eq!(ids("got 5000 Followers"), ["r1"]);
    assert_eq!(ids("please DM   me"), ["r2"]);
    assert_eq!(ids("WOW"), ["r3"]);
    assert_eq!(ids("wow wow"), Vec::<String>::new());
    assert_eq!(ids("STOP it"), ["r4"]);
    assert_eq!(ids("mail joe@example"), ["r5"]);
    assert_eq!(ids(""), Vec::<String>::new());
    assert_eq!(ids("giveaway 7 and giveaway 12"), ["many12", "many7"]);
    assert_eq!(ids("giveaway"), Vec::<String>::new());
    let d = s.evaluate(&comment("Win: 𝐁𝐢𝐭𝐜𝐨𝐢𝐧 99!"), &NoState);
    assert_eq!(d.matched[0].evidence[0].matched, "𝐁𝐢𝐭𝐜𝐨𝐢𝐧 99");
}

/// Rules are skipped when the words or regexes they need did not occur; groups that can hold
/// without them are always evaluated.
#[test]
fn rules_skipped_without_their_words_still_hold_through_other_groups() {
    let s = one(r##"
[[rule]]
id = "words-or-hashtags"
[rule.when]
any = [{ words = ["promo"] }, { min_hashtags = 2 }]
[rule.then]
hide = true

[[rule]]
id = "bar-without-foo"
[rule.when]
all = [{ not = { words = ["foo"] } }, { words = ["bar"] }]
[rule.then]
hide = true

[[rule]]
id = "words-or-regex"
[rule.when]
any = [{ words = ["deal"] }, { regex = ['\d{4} off'] }]
[rule.then]
hide = true

[[rule]]
id = "short"
[rule.when]
max_length = 3
[rule.then]
hide = true
"##);
    let ids = |text: &str| -> Vec<String> {
        s.evaluate(&comment(text), &NoState)
            .matched
            .into_iter()
            .map(|m| m.rule)
            .collect()
    };
    assert_eq!(ids("a PROMO today"), ["words-or-hashtags"]);
    assert_eq!(ids("#one #two"), ["words-or-hashtags"]);
    assert_eq!(ids("bar"), ["bar-without-foo", "short"]);
    assert_eq!(ids("foo bar"), Vec::<String>::new());
    assert_eq!(ids("1000 off now"), ["words-or-regex"]);
    assert_eq!(ids("a deal"), ["words-or-regex"]);
    assert_eq!(ids("ok"), ["short"]);
    assert_eq!(ids("nothing here"), Vec::<String>::new());
}

#[test]
fn addressed_tells_an_insult_at_the_reader_from_one_about_someone_else() {
    let s = one("[[rule]]\nid = \"insult\"\n[rule.when]\naddressed = true\nwords = [\"idiot\", \"idiota\", \"vollidiot\", \"goblok\"]\n[rule.then]\nhide = true\n");
    for hit in [
        "you are an idiot",
        "ur such an idiot",
        "você é um idiota",
        "vc é idiota",
        "du bist ein Vollidiot",
        "kamu goblok",
        "eres un idiota",
        "tu es un idiot, toi",
    ] {
        assert_eq!(
            names(&s.evaluate(&comment(hit), &NoState)),
            ["hide"],
            "{hit}"
        );
    }
    for miss in [
        "that referee was an idiot",
        "esse juiz é um idiota",
        "Der Schiedsrichter war ein Vollidiot",
        "lo odio, es un idiota",
        "you are amazing",
    ] {
        assert!(
            s.evaluate(&comment(miss), &NoState).actions.is_empty(),
            "{miss}"
        );
    }
    let nobody = one("[[rule]]\nid = \"n\"\n[rule.when]\naddressed = false\nwords = [\"idiot\"]\n[rule.then]\nhide = true\n");
    assert!(nobody
        .evaluate(&comment("you idiot"), &NoState)
        .actions
        .is_empty());
    assert_eq!(
        names(&nobody.evaluate(&comment("what an idiot"), &NoState)),
        ["hide"]
    );
    let wrong = set(&[(
        "a.toml",
        "[[rule]]\nid = \"w\"\n[rule.when]\naddressed = \"yes\"\n[rule.then]\nhide = true\n",
    )]);
    assert!(wrong.is_err());
}

/// A comment's author may be given as `username` or `author` (`rules eval` input, the review
/// page's "Try a comment"): the impersonation rules see it either way.
#[test]
fn the_author_is_read_from_username_or_author() {
    for line in [
        r#"{"text":"DM us for your refund","author":"acme.support.help"}"#,
        r#"{"text":"DM us for your refund","username":"acme.support.help"}"#,
    ] {
        let input: Input = serde_json::from_str(line).unwrap();
        assert_eq!(
            input.username.as_deref(),
            Some("acme.support.help"),
            "{line}"
        );
    }
}

/// The built-in groups act as the TOML they stand for, and `= false` is reported where written.
#[test]
fn built_in_groups_exempt_quotes_and_friends_teased() {
    let rule = "[[rule]]\nid = \"idiot\"\n[rule.when]\nwords = [\"idiot\"]\n[rule.unless]\nquoting_to_condemn = true\nteasing_a_friend = true\n[rule.then]\nhide = true\n";
    let s = set(&[("a.toml", rule), ("lists/speaking-against.txt", "shame\n")]).unwrap();
    assert_eq!(acts(&s, "you idiot"), ["hide"]);
    assert!(acts(&s, "someone wrote 'you idiot' under her photo, shame").is_empty());
    assert!(acts(&s, "@dani you idiot this is literally you 😂").is_empty());
    assert_eq!(acts(&s, "@dani you idiot, nobody wants you 😂"), ["hide"]);
    // Said to the writer and condemned without quotation marks; not the insult itself.
    assert!(acts(&s, "he called me an idiot in my DMs, shame").is_empty());
    assert_eq!(acts(&s, "he is an idiot, shame"), ["hide"]);
    let bad = rule.replace("teasing_a_friend = true", "teasing_a_friend = false");
    let errors = set(&[("a.toml", &bad), ("lists/speaking-against.txt", "shame\n")]).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        shown
            .iter()
            .any(|e| e.contains("a.toml:7:")
                && e.contains("`teasing_a_friend` is `true` or left out")),
        "{shown:#?}"
    );
}

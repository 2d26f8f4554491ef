//! Groups of conditions many rules share, written once: a rule says `quoting_to_condemn = true`
//! or `teasing_a_friend = true` (in `[rule.unless]`) instead of copying the group. Each is read
//! exactly as the TOML below would be if written in the rule, with the rule's own options
//! (`leetspeak` applies to their words as it would to a copy).

use super::*;

/// A comment that quotes abuse to condemn it: a quotation, and a word of shame (the list
/// `speaking-against`) or of writing and saying ("calling her a 'dumb bitch' is disgusting",
/// "wer 'du bist eine Hure' schreibt, sollte sich schämen", "Alguien le escribió \"sudaca de
/// mierda\" a la modelo"); or, without quotation marks, what someone called or sent the
/// writer or another person beside such a word ("someone called me a f*ggot for liking it.
/// reported", "reporting every account that called him a f*g", "got told to kys under my last
/// post, grow up people").
/// A quotation: in quotation marks, or in single quotes standing apart from the words around
/// them (not an apostrophe). `QUOTE` in the groups below stands for it.
const QUOTE: &str = r#"{ regex = ['["“«„][^"”»“]{2,80}["”»“]', '(^|\s)[\x27‘][^\x27’]{2,60}[\x27’]([\s,.!?:;]|$)'] }"#;

/// A comment that quotes a scam or a spammer's words to warn others: a quotation beside a word
/// of shame, warning or reporting ("the account offering 'cheap followers' in every thread is a
/// scam, reported", "'gratis iphone ... link in bio' – fake, nicht klicken"). For the spam and
/// scam rules: stricter than `quoting_to_condemn`, whose verbs of writing ("type 'YES'") are
/// also a spammer's.
const QUOTING_TO_WARN: &str = r#"all = [QUOTE, { words = ["list:speaking-against"] }]"#;

const QUOTING_TO_CONDEMN: &str = r#"any = [
  { all = [QUOTE, { any = [{ words = ["list:speaking-against"] }, { regex = ['\b(writ\w*|wrote|say\w*|said|call\w*|dm.?d|dmed|messaged|texted|telling|told|posting|posted|typing|typed|seeing|offering|offered|puso|pusieron|bol\s+rahe|[ée]cri\w+|schreib\w*|schr[ie]ef\w*|schrijf\w*|yazan\w*|likh\w*|pisz\w*|napisa\w*|написа\w*|пиш\w*|scritt\w*|escrib\w+|escrev\w+|scriv\w+|nulis|komen\w*|comment\w*|ge(schrieben|sagt)|dedi\w*|dett[oa]|disse|dijo|dicho|bilang|ngomong|nhan|sinabi\w*|kaha|bola|powiedzia\w*|сказал\w*|zei|gezegd|trait\w+|dizendo|dicendo|diciendo|قال\w*)\b'] }] }] },
  { all = [{ regex = ['\b((called|calling|calls)\s+(me|him|her|them|us|my\s+\w+|our\s+\w+)|(got|get|getting|was|were|been|being)\s+called|(got|was|been)\s+told\s+to|(told|telling|tell)\s+(me|him|her|them|us|people)\s+to|dm.?d\s+me|sent\s+me|me\s+(llam[oó]|dijo|mand[oó]|chamou|mandou|xingou)|(hat|haben)\s+mich|nannte\s+mich|m.?a\s+(trait[ée]e?|dit|envoy[ée])|mi\s+ha\s+(chiamat|dett|scritt)\w*|mujhe\s+\w+\s+(bola|kaha)|nazwa\w*\s+mnie|napisa\w*\s+mi|назвал\w*\s+меня|написал\w*\s+мне|noemde\s+(me|mij)|nag-?dm\s+sakin|tinawag\s+ak\w+|ngatain\s+(gue|aku)|dm\s+(gue|aku|gw)|goi\s+toi|chui\s+toi)\b'] }, { words = ["list:speaking-against"] }] },
]"#;

/// A friend the comment tags, teased with a laugh or love ("@luki_r du vollidiot, du hast das
/// handy seit nem jahr 😂", "@amandine_x t'es vraiment une conne je t'adore 😂❤️"); not with a
/// sexual insult ("whore") or an insult piled on ("nobody wants you", "kys").
const TEASING_A_FRIEND: &str = r#"any = [{ all = [
  { min_mentions = 1 },
  { any = [
    { contains = ["😂", "🤣", "😭", "💀", "😹", "😆", "😅", "❤", "🥰", "😘", "💕", "🫶", "ㅋㅋ", "ㅎㅎ"] },
    { regex = ['\b(a?(ha){2,}h?|(ah){2,}a?|(ja){2,}|(je){2,}|(he){2,}|(hi){2,}|k{4,}|(wk){2,}\w*|lo+l|lmf?ao+|rofl|mdr|ptdr|xd+|rsrs\w*|jk|te\s+amo|te\s+quiero|ti\s+adoro|ti\s+voglio\s+bene|je\s+t.?adore|ich\s+(liebe|lieb)\s+dich|hab\s+dich\s+lieb|seni\s+seviyorum|kocham\s+ci[eę]|mahal\s+kita|love\s+(you|u|ya)|luv\s+(u|ya)|ily)\b|хаха|ахах|555'] },
    # Plans together or a debt between friends, with no laugh: "@dan you loser we're going to
    # this concert and you're driving", "@ethan you dumbass you still owe me 20" (stop 45); not
    # beside violence or a call to report ("@x we're gonna kill you", "we should all report you").
    { regex = ['\b(we.?re\s+(going|getting)\s+(to\s+)?(this|that|the|a)\s+(concert|game|show|movie|party|match|festival|gig|club|mall|beach|dinner|brunch|launch)|(you|u)\s+(still\s+)?owe\s+me|you.?re\s+(driving|paying)|remember\s+when\s+we)\b'], not = { regex = ['\b(kill|murder|stab|shoot|beat|hurt|rape|die|dead|find\s+(you|u)|report|block|regret|hospital)'] } },
  ] },
  { not = { words = ["whore", "slut", "cunt", "puta", "vadia", "piranha", "salope", "pute", "schlampe", "hure", "fotze", "nutte", "lonte", "pelacur", "randi", "kurwa", "szmata", "orospu", "шлюха", "troia", "puttana", "zorra", "hoer", "pokpok"] } },
  { not = { regex = ['\b(nobody|no\s+one)\s+(wants|likes|loves|cares\s+about)\s+(you|u)\b', '\bdelete\s+(your|ur)\s+(account|page)\b', '\b(kill\s+(yourself|urself|ur\s+self)|kys|go\s+die|just\s+die)\b', '\b(nadie|ninguem|ninguém|niemand|nikt|koi|nessuno|kimse|personne)\s+(te|ti|tujhe|cię|will|mag|seni|ne\s+t)\b'] } },
] }]"#;

impl Loader {
    /// `quoting_to_condemn`, `quoting_to_warn` or `teasing_a_friend = true`: the shared group, read as
    /// if it were written here. Only `true` means anything; `false` is a mistake reported.
    pub(super) fn builtin_group(
        &mut self,
        f: &File<'_>,
        t: &dyn TableLike,
        key: &str,
        opts: Opts,
    ) -> Option<Cond> {
        if !self.boolean(f, t, key)? {
            let span = t.get(key).and_then(item_span);
            self.err(f, span, format!("`{key}` is `true` or left out"));
            return None;
        }
        let src = match key {
            "quoting_to_condemn" => QUOTING_TO_CONDEMN,
            "quoting_to_warn" => QUOTING_TO_WARN,
            _ => TEASING_A_FRIEND,
        }
        .replace("QUOTE", QUOTE);
        let doc = ImDocument::parse(src.clone()).expect("a built-in group parses");
        let file = File::new(format!("(the built-in `{key}`)"), &src);
        self.conditions(&file, doc.as_table(), None, key, opts, false)
    }
}

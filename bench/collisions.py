# Words of the abuse rules that are everyday words in some language: "negro" is the Spanish and
# Portuguese for black ("me encanta el vestido negro"), "retardo" a delay, "tard" the French for
# late. A word list written in one language hides the customers of another; this finds the
# candidates, a person then decides (the decisions are test cases in rules/tests/).
#
# For every rule that hides (mode enforce) in an abuse category, every single word of its
# `words` conditions and `list:` files, folded as the rule folds it (leetspeak: "negr0" is
# "negro"), is looked up in wordfreq's frequency lists of 40 languages; a word at Zipf 3.0 or
# more (once in a million words) in a language is printed with those languages, and whether the
# rule can hide on that word alone or only beside another condition (`beside`: the rule also
# asks for a model's lean, an address to the reader, a short comment...).
#
# Needs wordfreq (Apache-2.0, https://github.com/rspeer/wordfreq), a development tool only:
#   python3 -m venv /tmp/wf && /tmp/wf/bin/pip install wordfreq
#   /tmp/wf/bin/python bench/collisions.py [RULES_DIR] [MIN_ZIPF] [all]
import glob, os, sys, tomllib, unicodedata
from wordfreq import available_languages, zipf_frequency

rules_dir = sys.argv[1] if len(sys.argv) > 1 else 'rules'
min_zipf = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
# The enforced rules of the abuse categories, or with a third argument `all` every rule of
# every category, shadow rules too (a brand may enforce them).
every = len(sys.argv) > 3 and sys.argv[3] == 'all'
ABUSE = {'abuse', 'hate', 'harassment', 'threat', 'sexual', 'profanity'}
# As src/rules/normalize/mod.rs reads digits and symbols in the leetspeak view.
LEET = str.maketrans('0134@5$7+8!|', 'oieaassttbii')


def fold(word):
    """Lowercase without accents, as the engine compares words ("löser" reads "loser").
    Look-alike letters from other scripts are not folded here."""
    return ''.join(c for c in unicodedata.normalize('NFKD', word.lower())
                   if not unicodedata.combining(c))
LANGS = sorted(l for l in available_languages() if l not in ('zh', 'ja', 'ko'))

def list_words(name):
    path = os.path.join(rules_dir, 'lists', name + '.txt')
    return [w.strip() for w in open(path, encoding='utf-8') if w.strip() and not w.startswith('#')]

def words_of(cond, alone, out):
    """Collect (word, alone) from a condition table; `alone` is False inside an `all`."""
    if not isinstance(cond, dict):
        return
    # Conditions side by side in one table must all hold: a word beside a regex, a model...
    alone = alone and len([k for k in cond if k != 'not']) <= 1
    for w in cond.get('words', []):
        for x in (list_words(w[5:]) if w.startswith('list:') else [w]):
            out.append((x, alone))
    for c in cond.get('any', []):
        words_of(c, alone, out)
    for c in cond.get('all', []):
        words_of(c, False, out)

found = {}
for path in sorted(glob.glob(os.path.join(rules_dir, '*.toml'))):
    for rule in tomllib.load(open(path, 'rb')).get('rule', []):
        if not every and (rule.get('category') not in ABUSE
                          or rule.get('mode', 'enforce') != 'enforce'):
            continue
        if not rule.get('then', {}).get('hide') and not rule.get('then', {}).get('delete'):
            continue
        when = rule.get('when', {})
        entries = []
        # Several conditions side by side in `when` must all hold. A word's own exceptions
        # (`not = ...` beside it) are not read here: look at the rule.
        words_of(when, len(when) <= 1, entries)
        for word, alone in entries:
            forms = {word.lower(), fold(word)}
            if rule.get('leetspeak'):
                forms.add(fold(word).translate(LEET))
            for f in forms:
                if ' ' in f or not f.isalpha():
                    continue
                langs = {l: zipf_frequency(f, l) for l in LANGS}
                common = {l: z for l, z in langs.items() if z >= min_zipf}
                if common:
                    key = (f, rule['id'])
                    found[key] = (alone or found.get(key, (False,))[0], common)

for (word, rule), (alone, common) in sorted(found.items(), key=lambda x: -max(x[1][1].values())):
    langs = ' '.join(f'{l}:{z:.1f}' for l, z in sorted(common.items(), key=lambda x: -x[1]))
    print(f'{word:16} {rule:34} {"alone " if alone else "beside"} {langs}')

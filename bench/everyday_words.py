# Everyday words of 40 languages as whole comments, and after a word that addresses the reader:
# what does the shipped pack hide? A brand's customers write "negro" (the colour they want),
# "filho", "seu canal", "tera kutta"; none of those should be hidden. Prints every hidden
# comment with the rules that hid it, then a count per rule; a person reads the list (most of
# what is left are insults or slurs somewhere, "idiota", "du bist dumm").
#
# Two probes, from wordfreq's 3,000 commonest words of each language:
#   words   each word alone (about 104,000 comments);
#   address a second-person word of 18 languages before each of that language's words
#           ("seu canal", "du Schuhe", "kamu bodoh": 84,000 comments).
#
# Needs wordfreq (Apache-2.0, https://github.com/rspeer/wordfreq), a development tool only, and
# the release binary (cargo build --release):
#   python3 -m venv /tmp/wf && /tmp/wf/bin/pip install wordfreq
#   /tmp/wf/bin/python bench/everyday_words.py [words|address] [RULES_DIR]
import collections, json, subprocess, sys
from wordfreq import available_languages, top_n_list

probe = sys.argv[1] if len(sys.argv) > 1 else 'words'
rules = sys.argv[2] if len(sys.argv) > 2 else 'rules'
ADDRESS = {
    'es': ['eres', 'tu'], 'pt': ['você é', 'seu', 'sua'], 'fr': ['tu es', "t'es un"],
    'de': ['du bist', 'du'], 'id': ['kamu', 'lu'], 'it': ['sei'], 'nl': ['je bent'],
    'sv': ['du är'], 'da': ['du er'], 'nb': ['du er'], 'pl': ['ty', 'jesteś'], 'ro': ['ești'],
    'fil': ['ikaw ay'], 'en': ['you', 'you are', 'your', 'ur'], 'cs': ['ty jsi'], 'hu': ['te'],
    'tr': ['sen'], 'ms': ['kau'],
}

comments = []
if probe == 'words':
    seen = set()
    for lang in sorted(available_languages()):
        for w in top_n_list(lang, 3000):
            if w not in seen:
                seen.add(w)
                comments.append((lang, w))
elif probe == 'address':
    for lang, words in ADDRESS.items():
        for w in top_n_list(lang, 3000):
            comments.extend((lang, f'{p} {w}') for p in words)
else:
    sys.exit('probe: words or address')

inp = ''.join(json.dumps({'text': t}, ensure_ascii=False) + '\n' for _, t in comments)
out = subprocess.run(['target/release/commentguard', 'rules', 'eval', '--rules', rules],
                     input=inp, capture_output=True, text=True, check=True).stdout.splitlines()
assert len(out) == len(comments), 'one answer a comment'
count = collections.Counter()
hidden = 0
# A word common to several languages is shown with the first of them, alphabetically.
for (lang, text), line in zip(comments, out):
    hid = [m['rule'] for m in json.loads(line)['matched']
           if m['mode'] == 'enforce' and 'hide' in m['actions']]
    if hid:
        print(f'{lang:4} {text:30} {" ".join(hid)}')
        hidden += 1
        count.update(hid)
print(f'{hidden} of {len(comments)} hidden; rules that hid them (a comment can count for several): {dict(count)}')

# Builds src/rules/common_words.txt: the words that are common in the Latin-script languages
# Instagram customers write (a Zipf frequency of 4.0 or more, once in 100,000 words, in any of
# them), three letters or more, accents removed, lowercase. The `site_name` condition reads a
# word written in fancy capitals as a disguised site name ("𝐀𝐆𝐔𝐒𝐓𝐎𝐓𝐎") unless it is one of
# these ("this jacket is 𝐄𝐕𝐄𝐑𝐘𝐓𝐇𝐈𝐍𝐆", "𝐄𝐍𝐀𝐊 banget"). The single words of
# rules/lists/indonesian-words.txt, gambling-words.txt and gambling-slang.txt are added: everyday slang that
# wordfreq's sources lack ("𝐆𝐄𝐌𝐄𝐒", "𝐆𝐀𝐂𝐎𝐑" for a singing bird), and the gambling words are
# words, not site names; the rules that read them find them folded, with a second sign.
#
# Needs wordfreq (Apache-2.0 code; its word lists are CC BY-SA 4.0, by Robyn Speer,
# https://github.com/rspeer/wordfreq), a development tool only; the list it writes carries
# that attribution and licence:
#   python3 -m venv /tmp/wf && /tmp/wf/bin/pip install wordfreq
#   /tmp/wf/bin/python bench/common_words.py > src/rules/common_words.txt
import unicodedata
from importlib.metadata import version as _v
from wordfreq import available_languages, iter_wordlist, zipf_frequency
version = _v("wordfreq")

LANGS = ['en', 'id', 'ms', 'pt', 'es', 'de', 'fr', 'it', 'nl', 'tr', 'fil', 'pl', 'sv', 'da',
         'nb', 'ro', 'cs', 'hu', 'fi', 'vi', 'ca', 'lt', 'lv']
ZIPF = 4.0
words = set()
for f in ['rules/lists/indonesian-words.txt', 'rules/lists/gambling-words.txt',
          'rules/lists/gambling-slang.txt']:
    for line in open(f, encoding='utf-8'):
        line = line.strip().lower()
        if line and not line.startswith('#') and line.isascii() and line.isalpha() and len(line) >= 3:
            words.add(line)
for lang in LANGS:
    if lang not in available_languages():
        continue
    for w in iter_wordlist(lang):
        if zipf_frequency(w, lang) < ZIPF:
            break
        plain = ''.join(c for c in unicodedata.normalize('NFKD', w) if not unicodedata.combining(c))
        if plain.isascii() and plain.isalpha() and len(plain) >= 3:
            words.add(plain.lower())
print(f'# Common words of {len(LANGS)} Latin-script languages (Zipf frequency {ZIPF} or more in any),')
print(f'# from wordfreq {version} by Robyn Speer and contributors, https://github.com/rspeer/wordfreq.')
print('# Licence of this list: CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/), as')
print("# wordfreq's data. Built by bench/common_words.py; read by src/rules/sites.rs. Sorted.")
for w in sorted(words):
    print(w)

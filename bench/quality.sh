#!/usr/bin/env bash
# The shipped pack's quality on every labelled corpus in the repository, per corpus and
# language, in one run: `bash bench/quality.sh` (docs/QUALITY.md keeps the table).
#
# - Corpora a model was trained on are measured with grouped cross-validation through
#   `commentguard model evaluate --cv --rules rules`: the model is retrained on four folds and
#   the fifth is scored; comments naming the same @handle (scamspot-dev) or the same site
#   (judol-dev, --site-file) stay in one fold. It prints the rules alone, the model alone and
#   the pack with the model.
# - Ordinary comments (no scams in them) go through `commentguard rules eval` with the shipped
#   pack: the share hidden by a scam, spam or promotion rule (abuse rules are another
#   measure). Tweets are measured without their links (Twitter adds a t.co link to every
#   tweet with a picture, which an Instagram comment never has), and the link rules' share on
#   the tweets with links is printed beside.
# Needs python3 (standard library only) for the counting.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/commentguard

echo "== scamspot-dev (English, Instagram finance scams): grouped 5-fold CV, scam model retrained per fold"
$bin model evaluate --cv --rules rules --model rules/models/scam.model \
    --data corpora/scamspot-dev/comments.csv --text-column msg --label-column scam | tail -4
echo
echo "== judol-dev (Indonesian gambling promotions): grouped by site, judol model retrained per fold"
$bin model evaluate --cv --rules rules --model rules/models/judol.model \
    --site-file corpora/judol-dev/comments.csv | tail -4
echo
echo "== ordinary comments, shipped pack (scam, spam and promotion rules; models as shipped, trained on none of these)"
python3 - "$bin" <<'PY'
import csv, json, re, subprocess, sys, glob, html
binary = sys.argv[1]
link = re.compile(r'https?://\S+|\S+…$')
def sets():
    for r in csv.DictReader(open('corpora/abuse-told-br/comments.csv', encoding='utf-8')):
        if r['max_votes'] == '0':
            yield 'ToLD-Br, no votes', 'pt', r['text']
    for r in csv.DictReader(open('corpora/abuse-germeval2018/comments.csv', encoding='utf-8')):
        if r['coarse'] == 'OTHER':
            yield 'GermEval 2018 OTHER', 'de', r['text'].replace('|LBR|', '\n')
    for r in csv.DictReader(open('corpora/abuse-hatexplain/comments.csv', encoding='utf-8')):
        if r['label'] == '0':
            yield 'HateXplain normal', 'en', r['text']
    for r in csv.DictReader(open('corpora/abuse-convabuse/comments.csv', encoding='utf-8')):
        if r['label'] == '0':
            yield 'ConvAbuse 0', 'en', r['text']
    for r in csv.DictReader(open('corpora/judol-dev/comments.csv', encoding='utf-8')):
        if r['label'] == '0':
            yield 'judol-dev label 0 (in-sample for judol model)', 'id', r['text']
    for f in sorted(glob.glob('corpora/youtube-spam/*.csv')):
        for r in csv.DictReader(open(f, encoding='utf-8', errors='replace')):
            if r['CLASS'] == '0':
                yield 'YouTube ham', 'en', html.unescape(r['CONTENT']).replace('<br />', ' ')
rows = list(sets())
texts, had_link = [], []
for name, lang, t in rows:
    stripped = link.sub('', t).strip()
    had_link.append(stripped != t.strip())
    texts.append(stripped)
inp = ''.join(json.dumps({'text': t}) + '\n' for t in texts)
inp_orig = ''.join(json.dumps({'text': t}) + '\n' for _, _, t in rows)
out = subprocess.run([binary, 'rules', 'eval', '--rules', 'rules'], input=inp, capture_output=True, text=True, check=True).stdout.splitlines()
out_orig = subprocess.run([binary, 'rules', 'eval', '--rules', 'rules'], input=inp_orig, capture_output=True, text=True, check=True).stdout.splitlines()
def spam_hidden(line):
    o = json.loads(line)
    return [m['rule'] for m in o['matched'] if m['mode'] == 'enforce' and m.get('category') in ('scam', 'spam', 'promotion') and ('hide' in m['actions'] or 'delete' in m['actions'])]
stats = {}
for (name, lang, _), o, oo, hl in zip(rows, out, out_orig, had_link):
    s = stats.setdefault((name, lang), [0, 0, {}, 0, 0])
    s[0] += 1
    rs = spam_hidden(o)
    if rs:
        s[1] += 1
        for r in rs:
            s[2][r] = s[2].get(r, 0) + 1
    if hl:
        s[3] += 1
        s[4] += bool(spam_hidden(oo))
print(f"{'corpus':48} {'lang':4} {'rows':>6} {'hidden':>7} {'share':>7}   with links: hidden/rows   rules that hid them")
for (name, lang), (n, h, by, nl, hl) in stats.items():
    top = ', '.join(f'{r} {c}' for r, c in sorted(by.items(), key=lambda x: -x[1])[:4])
    print(f"{name:48} {lang:4} {n:6} {h:7} {100*h/n:6.2f}%   {hl:5}/{nl:<5}            {top}")
PY

# Builds the abuse model's training data, corpora/abuse-train/*.jsonl ({"text", "label"}), from
# the abuse corpora in the repository (their ATTRIBUTION.md and LICENSE apply; see
# corpora/abuse-train/ATTRIBUTION.md). Run from the repository root: python3 bench/abuse_data.py
# Label 1: aimed abuse (ToLD-Br: 2 or more votes for insult, racism, homophobia, misogyny or
# xenophobia; GermEval 2018: INSULT, ABUSE; HateXplain: hatespeech, offensive; ConvAbuse:
# abusive). Label 0: ToLD-Br with no votes, GermEval OTHER, HateXplain normal, ConvAbuse 0.
# Left out: what the labellers half agreed on (ToLD 1 vote) and swearing aimed at nobody
# (GermEval PROFANITY), which the pack leaves visible. Twitter's anonymised "@user" and "rt"
# and t.co links are removed (an Instagram comment has none; every "@user" would otherwise be
# one cross-validation group). Standard library only.
import csv, json, re

link = re.compile(r'https?://\S+|\S+…$')
anon = re.compile(r'(?i)(^|\s)(rt\s+)?(@user\b\s*)+|<user>|<url>|<number>')

def clean(t):
    return re.sub(r'\s+', ' ', anon.sub(' ', link.sub('', t))).strip()

def write(name, rows):
    with open(f'corpora/abuse-train/{name}.jsonl', 'w', encoding='utf-8') as f:
        n = [0, 0]
        for label, text in rows:
            text = clean(text)
            if text:
                f.write(json.dumps({'text': text, 'label': label}, ensure_ascii=False) + '\n')
                n[label] += 1
    print(f'{name}: {n[1]} abusive, {n[0]} ordinary')

def told():
    for r in csv.DictReader(open('corpora/abuse-told-br/comments.csv', encoding='utf-8')):
        v = max(int(r[k]) for k in ['homophobia', 'insult', 'racism', 'misogyny', 'xenophobia'])
        if v >= 2:
            yield 1, r['text']
        elif r['max_votes'] == '0':
            yield 0, r['text']

def germeval():
    for r in csv.DictReader(open('corpora/abuse-germeval2018/comments.csv', encoding='utf-8')):
        t = r['text'].replace('|LBR|', '\n')
        if r['fine'] in ('INSULT', 'ABUSE'):
            yield 1, t
        elif r['coarse'] == 'OTHER':
            yield 0, t

def hatexplain():
    for r in csv.DictReader(open('corpora/abuse-hatexplain/comments.csv', encoding='utf-8')):
        if r['category'] in ('hatespeech', 'offensive'):
            yield 1, r['text']
        elif r['category'] == 'normal':
            yield 0, r['text']

def convabuse():
    for r in csv.DictReader(open('corpora/abuse-convabuse/comments.csv', encoding='utf-8')):
        yield int(r['label'] != '0'), r['text']

write('told-br', told())
write('germeval2018', germeval())
write('hatexplain', hatexplain())
write('convabuse', convabuse())

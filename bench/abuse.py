# The abuse rules' recall and the share of ordinary comments they hide, per corpus: the rows
# hidden by an enforced rule of an abuse category (abuse, hate, harassment, threat, sexual,
# profanity). Build first (cargo build --release), then run
# from the repository root: `python3 bench/abuse.py [RULES_DIR] [CORPUS_NAME_TO_SHOW]`.
# Positives: ToLD-Br rows with 2 or more votes for insult, racism, homophobia, misogyny or
# xenophobia; GermEval INSULT and ABUSE; HateXplain hatespeech and offensive; ConvAbuse
# labelled abusive. Negatives: ToLD-Br with no votes, GermEval OTHER, HateXplain normal,
# ConvAbuse 0, judol-dev 0, YouTube ham, scamspot-dev genuine. Links are removed (tweets carry
# t.co links). Standard library only.
import csv,json,subprocess,glob,html,sys,re
rules=sys.argv[1] if len(sys.argv)>1 else 'rules'
show=sys.argv[2] if len(sys.argv)>2 else ''
B='target/release/commentguard'
# Every kind of abuse (category `abuse` and its kinds).
ABUSE={'abuse','hate','harassment','threat','sexual','profanity'}
link=re.compile(r'https?://\S+|\S+…$')
sets=[]
for r in csv.DictReader(open('corpora/abuse-told-br/comments.csv',encoding='utf-8')):
    v=max(int(r[k]) for k in ['homophobia','insult','racism','misogyny','xenophobia'])
    if v>=2: sets.append(('told pos',1,r['text']))
    elif r['max_votes']=='0': sets.append(('told neg',0,r['text']))
for r in csv.DictReader(open('corpora/abuse-germeval2018/comments.csv',encoding='utf-8')):
    t=r['text'].replace('|LBR|','\n')
    if r['fine'] in('INSULT','ABUSE'): sets.append(('germ pos',1,t))
    elif r['coarse']=='OTHER': sets.append(('germ neg',0,t))
for r in csv.DictReader(open('corpora/abuse-hatexplain/comments.csv',encoding='utf-8')):
    if r['category']=='hatespeech': sets.append(('hx hate',1,r['text']))
    elif r['category']=='offensive': sets.append(('hx off',1,r['text']))
    elif r['category']=='normal': sets.append(('hx neg',0,r['text']))
for r in csv.DictReader(open('corpora/abuse-convabuse/comments.csv',encoding='utf-8')):
    sets.append(('conv pos' if r['label']!='0' else 'conv neg', int(r['label']!='0'), r['text']))
for r in csv.DictReader(open('corpora/judol-dev/comments.csv',encoding='utf-8')):
    if r['label']=='0': sets.append(('judol0',0,r['text']))
for f in glob.glob('corpora/youtube-spam/*.csv'):
    for r in csv.DictReader(open(f,encoding='utf-8',errors='replace')):
        if r['CLASS']=='0': sets.append(('ytham',0,html.unescape(r['CONTENT'])))
for r in csv.DictReader(open('corpora/scamspot-dev/comments.csv',encoding='utf-8')):
    if r['scam']=='0': sets.append(('scam0',0,r['msg']))
texts=[link.sub('',t).strip() for _,_,t in sets]
inp=''.join(json.dumps({'text':t})+'\n' for t in texts)
out=subprocess.run([B,'rules','eval','--rules',rules],input=inp,capture_output=True,text=True,check=True).stdout.splitlines()
from collections import defaultdict
st=defaultdict(lambda:[0,0]); by=defaultdict(lambda:defaultdict(int))
for (n,l,_),t,o in zip(sets,texts,out):
    o=json.loads(o)
    rs=[m['rule'] for m in o['matched'] if m['mode']=='enforce' and m.get('category') in ABUSE and 'hide' in m['actions']]
    st[n][0]+=1; st[n][1]+=bool(rs)
    for r in rs: by[n][r]+=1
    if show and n==show and rs: print(rs,repr(t[:120]))
for n,(a,h) in st.items(): print(f'{n:10} {h:5}/{a:6} {100*h/a:6.2f}%  {dict(by[n])}')

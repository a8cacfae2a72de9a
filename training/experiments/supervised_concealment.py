"""EXPERIMENT, not part of `make models`: a supervised concealment detector with the anomaly
model's interface (per-cell probability map, score = max), trained on 30 000 honest train tiles
plus the tiles of 40 concealment scans (seeds 10500-10503, 10 scans each, one kind per seed:
simulate --scenario concealment --concealment KIND --out training/data/experiments/conceal).
Compare its validation recall with the honest-only autoencoder. Run from the repo root:
PYTHONPATH=. training/.venv/bin/python training/experiments/supervised_concealment.py"""
import time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from pathlib import Path
from training.dataset import scan_tiles, load_split
from training.models import conv_bn
from training import train_anomaly as ta
torch.set_num_threads(1); torch.set_flush_denormal(True); torch.manual_seed(0)
rng=np.random.default_rng(0)


def load_conceal(root):
    import json
    tiles=[]; tg=[]
    for i,sd in enumerate(sorted(Path(root).iterdir())):
        part=scan_tiles(sd,i,0)
        truth=json.load(open(sd/'truth.json'))
        from training import preprocess as pp
        origins=[o for c in truth['containers'] for o in pp.box_origins(c['interior'])]
        H=max(o[0] for o in origins)+64; W=max(o[1] for o in origins)+64
        mask=np.zeros((H,W),np.float32)
        for ob in truth['concealed_objects']:
            b=ob['box']; mask[b['y0']:b['y1'],b['x0']:b['x1']]=1
        t=np.stack([mask[y:y+64,x:x+64].reshape(16,4,16,4).mean((1,3)) for y,x in origins])
        tiles.append(part['tiles']); tg.append(t)
    return np.concatenate(tiles), np.concatenate(tg)

class Det(nn.Module):
    def __init__(s):
        super().__init__()
        s.f=nn.Sequential(conv_bn(2,16),conv_bn(16,32),conv_bn(32,32,1),nn.Conv2d(32,32,3,padding=2,dilation=2),nn.ReLU(),nn.Conv2d(32,1,1))
    def forward(s,x):
        m=torch.sigmoid(s.f(x)); return m, m.flatten(1).amax(1)

ct,cg=load_conceal('training/data/experiments/conceal')
tr=load_split('train')
hi=rng.choice(len(tr['tiles']),30000,replace=False)
X=np.concatenate([tr['tiles'][hi],ct]); Y=np.concatenate([np.zeros((len(hi),16,16),np.float32),cg])
print('train', X.shape, 'pos cells', (Y>0.5).sum())
net=Det(); opt=torch.optim.AdamW(net.parameters(),2e-3)
posw=torch.tensor(5.0)
for ep in range(6):
    t=time.time(); order=rng.permutation(len(X)); tot=0
    for s in range(0,len(X),256):
        idx=order[s:s+256]; x=torch.from_numpy(X[idx]); 
        flip=torch.rand(len(x))<0.5; x=torch.where(flip[:,None,None,None],x.flip(3),x); y=torch.from_numpy(Y[idx]); y=torch.where(flip[:,None,None],y.flip(2),y)
        x[:,1][torch.rand(len(x))<0.25]=0
        logit=net.f(x)[:,0]; loss=F.binary_cross_entropy_with_logits(logit,y,pos_weight=posw)
        opt.zero_grad(); loss.backward(); opt.step(); tot+=loss.item()*len(idx)
    print(ep, tot/len(X), time.time()-t, flush=True)
val=load_split('val'); net.eval()
with torch.no_grad(): s=np.concatenate([net(torch.from_numpy(val['tiles'][i:i+1024]))[1].numpy() for i in range(0,len(val['tiles']),1024)])
for far in [0.01,0.001]:
    th=np.quantile(s[val['honest']],1-far); print(far, th, ta.detection(val,s,th))

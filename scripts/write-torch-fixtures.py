#!/usr/bin/python3
"""Writes the PyTorch checkpoints that test/formats/pytorch.test.ts and the fuzzer read, into OUT_DIR (a few KB).

`npm test` runs it through scripts/test-fixtures.sh with Debian's PyTorch (python3-torch) into test/fixtures/torch-gen/
(gitignored: checkpoints are generated, never committed). expected.json holds each tensor's shape and values as
PyTorch sees them.  usage: /usr/bin/python3 scripts/write-torch-fixtures.py OUT_DIR
"""
import collections, json, os, sys, zipfile
import torch

if len(sys.argv) != 2:
    sys.exit('usage: write-torch-fixtures.py OUT_DIR')
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
lin = torch.nn.Linear(3, 2)
obj = {
    'f32': torch.randn(2, 3), 'f64': torch.randn(4, dtype=torch.float64),
    'i64': torch.tensor([-3, 0, 2**40]), 'b': torch.tensor([True, False, True]),
    'f16': torch.randn(5).half(), 'bf16': torch.randn(3).bfloat16(), 'i8': torch.tensor([-128, 5], dtype=torch.int8),
    't': torch.randn(3, 4).t(), 'row': base[1], 'col': base[:, 1], 'scalar': torch.tensor(2.5),
    # stride 0 and overlapping strides: legal in PyTorch, stored small and copied out whole
    'expanded': torch.tensor([1.5, -2.0]).reshape(2, 1).expand(2, 3),
    'overlap': torch.arange(6, dtype=torch.float32).as_strided((3, 3), (1, 1)),
    'nested': {'inner': {'w': torch.ones(2, 2)}}, 'od': collections.OrderedDict([('z', torch.zeros(1)), ('a', torch.ones(1))]),
    'lin': lin.state_dict(), 'param': torch.nn.Parameter(torch.ones(2)), 'n': 7, 'x': 0.5, 'l': [1, 'two', None, True],
}
assert obj['expanded'].stride() == (1, 0) and obj['overlap'].stride() == (1, 1)


def flat(t):
    v = t.float() if t.dtype in (torch.float16, torch.bfloat16) else t
    return {'shape': list(t.shape), 'values': [float(x) for x in v.flatten().tolist()]}


exp = {k: flat(v) for k, v in obj.items() if isinstance(v, torch.Tensor)}
torch.save(obj, os.path.join(out, 'zip.pt'))
torch.save(obj, os.path.join(out, 'legacy.pt'), _use_new_zipfile_serialization=False)
torch.save(obj, os.path.join(out, 'protocol4.pt'), pickle_protocol=4)
with zipfile.ZipFile(os.path.join(out, 'zip.pt')) as src, zipfile.ZipFile(os.path.join(out, 'renamed.pt'), 'w') as dst:
    for i in src.infolist():
        dst.writestr('other_name/' + i.filename.split('/', 1)[1], src.read(i.filename))
# The same archive with every entry deflated, as a zip tool would re-compress it.
with zipfile.ZipFile(os.path.join(out, 'zip.pt')) as src, zipfile.ZipFile(os.path.join(out, 'deflated.pt'), 'w', zipfile.ZIP_DEFLATED) as dst:
    for i in src.infolist():
        dst.writestr(i.filename, src.read(i.filename))
with open(os.path.join(out, 'expected.json'), 'w') as f:
    json.dump(exp, f, indent=0, sort_keys=True)
    f.write('\n')
print(f'wrote {out} with torch {torch.__version__}', file=sys.stderr)

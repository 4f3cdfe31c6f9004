// The builder's frontend: a Dockerfile becomes a plan of ops, each with a vertex digest that is the
// cache key berth has always used (so existing caches and miss reasons stay valid).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { planBuild } from '../../src/engine/builder/frontend/plan.js';
import { argDigest, imageDigest, scratchDigest, stepDigest } from '../../src/engine/builder/frontend/ops.js';
import { parseDockerfile } from '../../src/engine/builder/frontend/dockerfile.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('builder frontend', () => {
  it('plans the needed stages as chains of ops of each kind, numbered in Dockerfile order', () => {
    const plan = planBuild({
      dockerfile: 'ARG V=1\nFROM scratch AS a\nCOPY x /x\nFROM scratch AS unused\nRUN true\nFROM scratch\nARG V\nENV A=$V\nWORKDIR /w\nCOPY --from=a /x /y\nRUN --mount=type=bind,from=a,target=/m true\n',
      dockerfileName: 'Dockerfile',
      buildArgs: { V: '2' },
    });
    assert.deepEqual(plan.needed.map((s) => s.index), [0, 2]);
    assert.equal(plan.total, 8);
    assert.equal(plan.argEnv.get('V'), '2');
    const ops = plan.ops.get(2)!;
    assert.deepEqual(ops.map((o) => o.kind), ['source', 'arg', 'meta', 'file', 'file', 'exec']);
    assert.deepEqual(ops.map((o) => o.step), [3, 4, 5, 6, 7, 8]);
    assert.deepEqual(ops[4]!.reads, ['a']);
    assert.deepEqual(ops[5]!.reads, ['a']);
  });

  it('keys a step by the hash of its definition and its inputs, as before', () => {
    const [, run] = parseDockerfile('FROM scratch\nRUN --network=none echo $X\n').instructions;
    const args = new Map([['X', '1']]);
    const { inputs, key } = stepDigest('parent', run!, { args, shell: ['/bin/sh', '-c'], network: 'host' });
    assert.equal(key, sha(JSON.stringify(['parent', 'RUN', run!.args, run!.flags, run!.heredocs, 'X=1', '', ['/bin/sh', '-c'], 'host'])));
    assert.deepEqual(inputs, { parent: 'parent', instruction: JSON.stringify(['RUN', run!.args, run!.flags, run!.heredocs, ['/bin/sh', '-c']]), args: 'X=1', sources: '' });
    const [, copy] = parseDockerfile('FROM scratch\nCOPY a b\n').instructions;
    assert.equal(stepDigest('p', copy!, { args, shell: ['/bin/sh', '-c'], content: 'c', network: 'host' }).key, sha(JSON.stringify(['p', 'COPY', 'a b', {}, [], '', 'c', ''])));
    assert.equal(scratchDigest(), sha('scratch'));
    assert.equal(imageDigest('sha256:1'), sha('image sha256:1'));
    assert.equal(argDigest('k', args), sha('k\nARG X=1'));
  });
});

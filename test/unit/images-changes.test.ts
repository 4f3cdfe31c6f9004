// `docker import -c` change lines, checked against what dockerd 20.10 produced for the same input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from '../../src/engine/images/changes.js';

describe('import changes', () => {
  it('keeps the JSON form and wraps the shell form in /bin/sh -c', () => {
    assert.deepEqual(applyChanges({}, ['CMD ["sh"]']).Cmd, ['sh']);
    assert.deepEqual(applyChanges({}, ['cmd echo hi']).Cmd, ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual(applyChanges({}, ['ENTRYPOINT ["/bin/sh", "-c"]']).Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(applyChanges({}, ['CMD [bad json']).Cmd, ['/bin/sh', '-c', '[bad json']);
  });

  it('sets env, labels, ports, volumes, user, workdir, onbuild and healthcheck', () => {
    const cfg = applyChanges({}, [
      'ENV A=1 B="x y"',
      'ENV C $A/z',
      'ENV D=a\\ b',
      'LABEL a=b "c d"="e f"',
      'LABEL single value here',
      'EXPOSE 80 443/udp',
      'VOLUME /a /b',
      'VOLUME ["/c"]',
      'USER app:app',
      'WORKDIR rel',
      'ONBUILD RUN echo',
      'HEALTHCHECK --interval=5s CMD ["true"]',
      'STOPSIGNAL SIGINT',
    ]);
    assert.deepEqual(cfg.Env, ['A=1', 'B=x y', 'C=1/z', 'D=a b']);
    assert.deepEqual(cfg.Labels, { a: 'b', 'c d': 'e f', single: 'value here' });
    assert.deepEqual(cfg.ExposedPorts, { '80/tcp': {}, '443/udp': {} });
    assert.deepEqual(cfg.Volumes, { '/a': {}, '/b': {}, '/c': {} });
    assert.equal(cfg.User, 'app:app');
    assert.equal(cfg.WorkingDir, '/rel');
    assert.deepEqual(cfg.OnBuild, ['RUN echo']);
    assert.deepEqual(cfg.Healthcheck, { Interval: 5_000_000_000, Test: ['CMD', 'true'] });
    assert.equal(cfg.StopSignal, 'SIGINT');
  });

  it('expands variables from earlier ENV lines only', () => {
    assert.deepEqual(applyChanges({}, ['ENV P=/x:$PATH']).Env, ['P=/x:']);
    assert.deepEqual(applyChanges({}, ['ENV H=/h', 'LABEL x="multi word" y=${H:-none} z=${Q:-none}']).Labels, { x: 'multi word', y: '/h', z: 'none' });
    assert.deepEqual(applyChanges({}, ["ENV A='$literal'"]).Env, ['A=$literal']);
  });

  it('expands as a Dockerfile does: every modifier, and the escape directive', () => {
    const env = applyChanges({}, ['ENV F=app.tar.gz E=', 'ENV A=${F%.*} B=${F%%.*} C=${F#*.} D=${E-unset} G=${E:-empty} H=${NOPE-unset}']).Env;
    assert.deepEqual(env, ['F=app.tar.gz', 'E=', 'A=app.tar', 'B=app', 'C=tar.gz', 'D=', 'G=empty', 'H=unset']);
    assert.deepEqual(applyChanges({}, ['LABEL path=C:\\dir\\x'], { escape: '`' }).Labels, { path: 'C:\\dir\\x' });
    assert.deepEqual(applyChanges({}, ['WORKDIR /srv/${APP}'], { args: new Map([['APP', 'web']]) }).WorkingDir, '/srv/web');
  });

  it('keeps a base config and drops its CMD when only ENTRYPOINT changes, as a build does', () => {
    const base = { Cmd: ['old'], Env: ['PATH=/bin'] };
    assert.deepEqual(applyChanges(base, ['ENTRYPOINT ["e"]']).Cmd, null);
    assert.deepEqual(applyChanges(base, ['CMD ["c"]', 'ENTRYPOINT ["e"]']).Cmd, ['c']);
    assert.deepEqual(applyChanges(base, ['ENV X=$PATH:/sbin']).Env, ['PATH=/bin', 'X=/bin:/sbin']);
    assert.deepEqual(base.Cmd, ['old']);
  });

  it('refuses what dockerd refuses, with its messages', () => {
    assert.throws(() => applyChanges({}, ['RUN echo']), { status: 400, message: 'run is not a valid change command' });
    assert.throws(() => applyChanges({}, ['FROB x']), { message: 'frob is not a valid change command' });
    assert.throws(() => applyChanges({}, ['ENV X']), { message: 'ENV must have two arguments' });
    assert.throws(() => applyChanges({}, ['onbuild onbuild x']), { message: 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed' });
  });
});

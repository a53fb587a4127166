// A real Prometheus (Debian's `prometheus` package) scraping two instrumented services on
// loopback that hold different connection counts: PromQL sees each service's figures and
// fleet-wide aggregates; the shipped alert rules load and evaluate; every dashboard query runs.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../helpers/child';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const ALERTS = path.join(root, 'dashboards', 'alerts.yml');
const DASHBOARD = path.join(root, 'dashboards', 'sockprobe.json');
/** Two services: TLS connections held, CLOSE_WAIT sockets left behind. */
const SERVICES = { gateway: { tls: 60, closeWait: 3 }, push: { tls: 25, closeWait: 1 } } as const;
type Job = keyof typeof SERVICES;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const vmRssBytes = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

function startService(job: Job): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const { tls, closeWait } = SERVICES[job];
  // An IPC channel, so the service exits when this process goes away.
  const child = spawn(process.execPath, [path.join(root, 'test', 'fixtures', 'fleet-service.js'), String(tls), String(closeWait)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, LD_PRELOAD: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        const { metricsPort, pid } = JSON.parse(line);
        resolve({ child, port: metricsPort, pid });
      }
    });
    child.once('exit', (code) => reject(new Error(`service ${job} exited (${code}) before it was ready\n${stderr}`)));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('a fleet in a real Prometheus', () => {
  const services = new Map<Job, { child: ChildProcess; port: number; pid: number }>();
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let api = '';
  let dir = '';

  const get = async (pathAndQuery: string) => {
    const response = await fetch(api + pathAndQuery);
    const body = (await response.json()) as { status: string; data: any; error?: string };
    if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.error}`);
    return body.data;
  };
  /** One instant query; all of a test's queries use one evaluation time so they see the same scrape. */
  const query = async (promql: string, time: number): Promise<VectorSample[]> =>
    (await get(`/api/v1/query?query=${encodeURIComponent(promql)}&time=${time}`)).result;
  const byJob = (samples: VectorSample[]) => Object.fromEntries(samples.map((s) => [s.metric.job, Number(s.value[1])]));

  beforeAll(async () => {
    // The suite installs nothing: Debian's package brings the server and promtool.
    if (!fs.existsSync(PROMETHEUS) || !fs.existsSync(PROMTOOL))
      throw new Error(`${PROMETHEUS} and ${PROMTOOL} are missing: install Debian's \`prometheus\` package (apt-get install prometheus)`);
    const [gateway, push] = await Promise.all([startService('gateway'), startService('push')]);
    services.set('gateway', gateway).set('push', push);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockprobe-prometheus-'));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(ALERTS)}`,
      'scrape_configs:',
      ...(['gateway', 'push'] as const).flatMap((job) => [
        `  - job_name: ${job}`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${services.get(job)!.port}']`,
      ]),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.on('data', (chunk) => (prometheusLog += chunk));
    // Ready once both targets have been scraped at least three times (rate windows need two
    // points), per-connection figures come from both, and every rule has been evaluated.
    const deadline = Date.now() + 40_000;
    for (;;) {
      try {
        const now = Date.now() / 1000;
        const up = await query('sum(up)', now);
        const scrapes = await query('min(count_over_time(sockprobe_rss_bytes[10s]))', now);
        const fitted = await query('count(sockprobe_connection_bytes{kind="tls", layer="rss"})', now);
        const rules = (await get('/api/v1/rules')).groups.flatMap((g: any) => g.rules);
        if (
          Number(up[0]?.value[1]) === 2 &&
          Number(scrapes[0]?.value[1]) >= 3 &&
          Number(fitted[0]?.value[1]) === 2 &&
          rules.length > 0 &&
          rules.every((r: any) => r.health !== 'unknown')
        )
          break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline || prometheus.exitCode !== null) throw new Error(`Prometheus did not see both services in time\n${prometheusLog}`);
      await sleep(250);
    }
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    for (const { child } of services.values()) if (child.exitCode === null) child.kill('SIGTERM');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("sees each service's figures and fleet-wide aggregates through PromQL", async () => {
    const t = Date.now() / 1000;
    // Each service's own TLS connections, and the fleet's sum.
    expect(byJob(await query('sockprobe_connections{kind="tls", side="server"}', t))).toEqual({ gateway: SERVICES.gateway.tls, push: SERVICES.push.tls });
    expect(Number((await query('sum(sockprobe_connections{kind="tls", side="server"})', t))[0].value[1])).toBe(SERVICES.gateway.tls + SERVICES.push.tls);
    // CLOSE_WAIT sum by job.
    expect(byJob(await query('sum by (job) (sockprobe_tcp_sockets{state="CLOSE_WAIT"})', t))).toEqual({
      gateway: SERVICES.gateway.closeWait,
      push: SERVICES.push.closeWait,
    });
    // RSS by job against each service's /proc/<pid>/status.
    const rss = byJob(await query('sockprobe_rss_bytes', t));
    for (const [job, { pid }] of services) expect(Math.abs(rss[job] - vmRssBytes(pid)), job).toBeLessThan(16 * 1024 * 1024);
    // Bytes per TLS connection by service, and the fleet's connection-weighted mean in one
    // PromQL join: equal to the same mean computed here from the per-service figures.
    const perTls = byJob(await query('sockprobe_connection_bytes{kind="tls", layer="rss"}', t));
    expect(Object.keys(perTls).sort()).toEqual(['gateway', 'push']);
    for (const job of ['gateway', 'push'] as const) {
      expect(perTls[job], job).toBeGreaterThan(1024);
      expect(perTls[job], job).toBeLessThan(4 * 1024 * 1024);
    }
    const fleetMean = Number(
      (
        await query(
          'sum(sockprobe_connection_bytes{kind="tls", layer="rss"} * on (job, instance) group_left sum by ' +
            '(job, instance) (sockprobe_connections{kind="tls"})) / sum(sockprobe_connections{kind="tls"})',
          t,
        )
      )[0].value[1],
    );
    const expected = (perTls.gateway * SERVICES.gateway.tls + perTls.push * SERVICES.push.tls) / (SERVICES.gateway.tls + SERVICES.push.tls);
    expect(fleetMean).toBeCloseTo(expected, 3);
    // Both services sit in the same memory cgroup (this test's): the same group's figures from each.
    const workingSet = byJob(await query('sockprobe_container_memory_working_set_bytes', t));
    const usage = byJob(await query('sockprobe_container_memory_usage_bytes', t));
    for (const job of ['gateway', 'push'] as const) {
      expect(workingSet[job], job).toBeGreaterThan(0);
      expect(workingSet[job], job).toBeLessThanOrEqual(usage[job]);
    }
    expect(Math.abs(usage.gateway - usage.push)).toBeLessThan(64 * 1024 * 1024);
    expect(Object.keys(byJob(await query('sockprobe_container_oom_kills_total', t))).sort()).toEqual(['gateway', 'push']);
  });

  it('loads and evaluates the shipped alert rules, and promtool rejects a broken copy', async () => {
    const rules = (await get('/api/v1/rules')).groups.flatMap((g: any) => g.rules);
    expect(rules.map((r: any) => r.name).sort()).toEqual([
      'SockprobeCloseWaitPileUp',
      'SockprobeFdHeadroomLow',
      'SockprobeMemoryHeadroomLow',
      'SockprobeNativeGrowthUnexplained',
      'SockprobeRetentionAfterSpike',
    ]);
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe('ok');
      expect(rule.type).toBe('alerting');
    }
    const check = promisify(execFile);
    await expect(check(PROMTOOL, ['check', 'rules', ALERTS])).resolves.toMatchObject({ stdout: expect.stringMatching(/SUCCESS: 5 rules found/) });
    const broken = path.join(dir, 'broken-alerts.yml');
    fs.writeFileSync(
      broken,
      fs.readFileSync(ALERTS, 'utf8').replace('sum by (job, instance) (sockprobe_tcp_sockets', 'sum by (job, instance (sockprobe_tcp_sockets'),
    );
    await expect(check(PROMTOOL, ['check', 'rules', broken])).rejects.toMatchObject({ code: 1 });
  });

  it('SockprobeMemoryHeadroomLow fires past 80% of a container limit held 5 minutes, and never without a limit (promtool test rules)', async () => {
    // Three instances: at 84% of a 512 MiB limit, at 56%, and at 84% of no limit (NaN, as the exporter writes it).
    const series = (job: string, instance: string, workingSet: number, limit: string) => [
      `      - series: 'sockprobe_container_memory_working_set_bytes{job="${job}",instance="${instance}"}'`,
      `        values: '${workingSet}x10'`,
      `      - series: 'sockprobe_container_memory_limit_bytes{job="${job}",instance="${instance}"}'`,
      `        values: '${limit}'`,
    ];
    const limit = 512 * 1024 * 1024;
    const description = /alert: SockprobeMemoryHeadroomLow[\s\S]*?description: "([^"]+)"/.exec(fs.readFileSync(ALERTS, 'utf8'))![1];
    const test = [
      `rule_files: [${JSON.stringify(ALERTS)}]`,
      'evaluation_interval: 1m',
      'tests:',
      '  - interval: 1m',
      '    input_series:',
      ...series('gateway', 'a', 450_000_000, `${limit}x10`),
      ...series('push', 'b', 300_000_000, `${limit}x10`),
      ...series('nolimit', 'c', 450_000_000, Array(11).fill('NaN').join(' ')),
      '    alert_rule_test:',
      '      - eval_time: 3m',
      '        alertname: SockprobeMemoryHeadroomLow',
      '        exp_alerts: []',
      '      - eval_time: 10m',
      '        alertname: SockprobeMemoryHeadroomLow',
      '        exp_alerts:',
      '          - exp_labels: { severity: warning, job: gateway, instance: a }',
      '            exp_annotations:',
      // Prometheus's humanizePercentage of 450e6 / 512 MiB.
      `              summary: ${JSON.stringify(`gateway a: working set at ${((450_000_000 / limit) * 100).toPrecision(4)}% of the container's memory limit`)}`,
      `              description: ${JSON.stringify(description)}`,
      '',
    ].join('\n');
    const file = path.join(dir, 'headroom-test.yml');
    fs.writeFileSync(file, test);
    const run = promisify(execFile);
    await expect(run(PROMTOOL, ['test', 'rules', file])).resolves.toMatchObject({ stdout: expect.stringMatching(/SUCCESS/) });
    // The same test against a rule that ignores the limit fails: the test can fail.
    const loose = path.join(dir, 'loose-alerts.yml');
    fs.writeFileSync(
      loose,
      fs.readFileSync(ALERTS, 'utf8').replace('sockprobe_container_memory_limit_bytes > 0.8', 'sockprobe_container_memory_limit_bytes > 0.5'),
    );
    fs.writeFileSync(file, test.replace(JSON.stringify(ALERTS), JSON.stringify(loose)));
    await expect(run(PROMTOOL, ['test', 'rules', file])).rejects.toMatchObject({ code: 1 });
  });

  it('names only metrics the services export, in the rules and in every dashboard query, and each query returns data', async () => {
    const exported = new Set<string>(await get('/api/v1/label/__name__/values'));
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    const expressions: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((target: any) => target.expr));
    expect(expressions.length).toBeGreaterThanOrEqual(10);
    const named = new Set(
      [...fs.readFileSync(ALERTS, 'utf8').matchAll(/sockprobe_[a-z_]+/g), ...expressions.join('\n').matchAll(/sockprobe_[a-z_]+/g)].map((m) => m[0]),
    );
    for (const name of named) expect(exported.has(name), name).toBe(true);
    // Grafana's variables as "All" would set them; a 1 s scrape makes a short rate window enough.
    const t = Date.now() / 1000;
    for (const expr of expressions) {
      const promql = expr.replaceAll('$job', '.+').replaceAll('$instance', '.+').replaceAll('$__rate_interval', '10s');
      expect((await query(promql, t)).length, promql).toBeGreaterThan(0);
    }
  });
});

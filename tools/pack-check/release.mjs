// Release hygiene, read from the repository before anything is published:
// CHANGELOG.md (Keep a Changelog) has a dated section for the version in
// package.json, and that section is the newest; package.json says where the
// project lives (repository, homepage, bugs).
//
//   node release.mjs --self-test   checks these rules on planted changelogs

/** Problems with `changelog` (the text of CHANGELOG.md) for a release of `version`; empty when fine. */
export function changelogProblems(changelog, version, today = new Date()) {
  const problems = [];
  const headings = [...changelog.matchAll(/^## \[([^\]]+)\](.*)$/gm)].map((m) => ({ name: m[1], rest: m[2].trim(), line: m[0] }));
  const released = headings.filter((h) => h.name !== 'Unreleased');
  const mine = released.filter((h) => h.name === version);
  if (mine.length === 0) {
    problems.push(`CHANGELOG.md has no section "## [${version}] - YYYY-MM-DD" for package.json's version ${version}`);
    return problems;
  }
  if (mine.length > 1) problems.push(`CHANGELOG.md has ${mine.length} sections for ${version}`);
  const dated = /^- (\d{4})-(\d{2})-(\d{2})$/.exec(mine[0].rest);
  if (dated === null) {
    problems.push(`CHANGELOG.md's section for ${version} is not dated as "## [${version}] - YYYY-MM-DD": ${JSON.stringify(mine[0].line)}`);
  } else {
    const [, y, m, d] = dated.map(Number);
    const date = new Date(Date.UTC(y, m - 1, d));
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
      problems.push(`CHANGELOG.md's section for ${version} has no such date: ${mine[0].rest.slice(2)}`);
    } else if (date.getTime() > today.getTime() + 86_400_000) {
      // A day's grace: the release may be dated in a time zone ahead of this machine's.
      problems.push(`CHANGELOG.md's section for ${version} is dated in the future: ${mine[0].rest.slice(2)}`);
    }
  }
  if (released[0].name !== version) problems.push(`CHANGELOG.md's newest section is ${released[0].name}, not package.json's version ${version}`);
  return problems;
}

/** Problems with package.json's fields that say where the project lives. */
export function manifestProblems(pkg) {
  const problems = [];
  const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  if (typeof url !== 'string' || url === '') problems.push('package.json has no repository url');
  if (typeof pkg.homepage !== 'string' || pkg.homepage === '') problems.push('package.json has no homepage');
  const bugs = typeof pkg.bugs === 'string' ? pkg.bugs : pkg.bugs?.url;
  if (typeof bugs !== 'string' || bugs === '') problems.push('package.json has no bugs url');
  if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(pkg.version ?? '')) problems.push(`package.json's version is not x.y.z: ${pkg.version}`);
  return problems;
}

/** The rules on planted changelogs: returns the cases that came out wrong. */
export function selfTest() {
  const today = new Date(Date.UTC(2026, 11, 1));
  const head = '# Changelog\n\n## [Unreleased]\n\n- next\n\n';
  const cases = [
    ['dated section, newest', `${head}## [0.2.0] - 2026-11-30\n\n- a\n\n## [0.1.0] - 2026-01-02\n`, 0],
    ['only Unreleased', head, 1],
    ['undated', `${head}## [0.2.0]\n`, 1],
    ['not a date', `${head}## [0.2.0] - 2026-02-30\n`, 1],
    ['in the future', `${head}## [0.2.0] - 2027-01-05\n`, 1],
    ['not the newest', `${head}## [0.3.0] - 2026-11-30\n## [0.2.0] - 2026-11-01\n`, 1],
    ['another version only', `${head}## [0.1.0] - 2026-01-02\n`, 1],
  ];
  const wrong = [];
  for (const [name, text, expected] of cases) {
    const found = changelogProblems(text, '0.2.0', today);
    if (found.length !== expected) wrong.push(`${name}: expected ${expected} problem(s), found ${found.length} ${JSON.stringify(found)}`);
  }
  const manifest = manifestProblems({ version: '0.2.0' });
  if (manifest.length !== 3) wrong.push(`a package.json without repository, homepage and bugs: found ${JSON.stringify(manifest)}`);
  return wrong;
}

if (process.argv.includes('--self-test')) {
  const wrong = selfTest();
  console.log(wrong.length === 0 ? 'release checks: every planted problem found' : wrong.join('\n'));
  process.exit(wrong.length === 0 ? 0 : 1);
}

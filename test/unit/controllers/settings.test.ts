import t from 'tap';
import { adapterFor, SETTINGS_SCHEMAS, validateSettings } from '../../../src/controllers/index.js';
import { CONTROLLERS, isSecretSetting } from '../../../src/domain/networks.js';
import { AppError } from '../../../src/errors.js';
import { thrown } from '../../helpers/controllers.js';

t.test('every controller has its adapter and settings schema', async (t) => {
  for (const kind of CONTROLLERS) {
    t.equal(adapterFor(kind).kind, kind);
    t.equal(SETTINGS_SCHEMAS[kind], adapterFor(kind).settings);
  }
});

t.test('the settings that hold secrets are the ones networkJson hides', async (t) => {
  const secret = CONTROLLERS.flatMap((k) => Object.keys(SETTINGS_SCHEMAS[k].properties).filter(isSecretSetting));
  t.same([...new Set(secret)].sort(), ['faskey', 'password', 'radiusSecret', 'uamSecret']);
});

t.test('valid settings pass and get their defaults', async (t) => {
  t.same(validateSettings('unifi', { unifiUrl: 'https://unifi.example:8443', username: 'portal', password: 'pw' }), {
    unifiUrl: 'https://unifi.example:8443',
    username: 'portal',
    password: 'pw',
    site: 'default',
    unifiOs: false,
    insecureTls: false,
  });
  t.same(validateSettings('mikrotik', {}), { radiusPort: 3799 });
  t.same(validateSettings('opennds', { faskey: 'k' }), { faskey: 'k' });
  t.same(validateSettings('generic', { ssid: 'Hall', nasIdentifier: 'hall-ap' }), { ssid: 'Hall', nasIdentifier: 'hall-ap' }, 'the generic controller takes the common settings');
  t.same(validateSettings('generic', { siteCode: 'B-12', ssid: 'Hall' }, ['siteCode']), { siteCode: 'B-12', ssid: 'Hall' }, 'a name saved before the schema refused it is kept when asked');
});

t.test('unknown names, missing required ones and wrong types are refused with 400', async (t) => {
  const cases: [Parameters<typeof validateSettings>, Record<string, unknown>][] = [
    [['unifi', { unifiUrl: 'https://u', username: 'a' }], { unknown: [], missing: ['password'], invalid: {} }],
    [['meraki', { apiKey: 'x' }], { unknown: ['apiKey'], missing: [], invalid: {} }],
    [['generic', { anything: 'goes', toString: 'x' }], { unknown: ['anything', 'toString'], missing: [], invalid: {} }],
    [['opennds', {}], { unknown: [], missing: ['faskey'], invalid: {} }],
    [['coova', { radiusHost: '10.1.0.1' }], { unknown: [], missing: ['radiusSecret'], invalid: {} }],
    [['mikrotik', { radiusSecret: 's' }], { unknown: [], missing: ['radiusHost'], invalid: {} }],
    [
      ['unifi', { unifiUrl: 'javascript:alert(1)', username: 'a', password: 'b', unifiOs: 'yes', site: 'a/b' }],
      { unknown: [], missing: [], invalid: { unifiUrl: 'must be an http or https URL', site: 'is malformed', unifiOs: 'must be true or false' } },
    ],
    [['mikrotik', { radiusHost: 'nas', radiusSecret: 's', radiusPort: 70000 }], { unknown: [], missing: [], invalid: { radiusPort: 'must be at most 65535' } }],
  ];
  for (const [args, details] of cases) {
    const err = thrown(() => validateSettings(...args)) as AppError;
    t.ok(err instanceof AppError, JSON.stringify(args));
    t.equal(err.status, 400);
    t.equal(err.code, 'INVALID_SETTINGS');
    t.same(err.details, details, JSON.stringify(args));
  }
});

t.test('a refusal names the setting but never echoes a secret value', async (t) => {
  const err = thrown(() => validateSettings('coova', { uamSecret: 'x'.repeat(129) + 'TOPSECRET' })) as AppError;
  t.equal(err.message, 'Settings for the coova controller: uamSecret must be at most 128 characters');
  t.notMatch(JSON.stringify(err.details), 'TOPSECRET');
});

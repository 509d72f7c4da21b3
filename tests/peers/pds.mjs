// A real Bluesky PDS (@atproto/pds 0.4.x) and the DID PLC directory it registers accounts with
// (@did-plc/server), both on 127.0.0.1 only. Runs from the install directory (servers.py copies it
// there) so that Node finds the packages. Prints READY once both listen; SIGTERM stops it.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PlcServer, Database } from '@did-plc/server'
import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'

const env = process.env
const plcPort = Number(env.PLC_PORT || 2582)

// The PLC keeps its DIDs in memory, so a PDS database that outlived it would point at DIDs that no
// longer resolve: every start gets a fresh data directory, removed again on exit.
const dataDir = mkdtempSync(join(tmpdir(), 'postwright-pds-'))
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }))

Object.assign(env, {
  PDS_PORT: env.PDS_PORT || '2583',
  PDS_HOSTNAME: 'localhost',
  PDS_DATA_DIRECTORY: dataDir,
  PDS_BLOBSTORE_DISK_LOCATION: join(dataDir, 'blobs'),
  PDS_DID_PLC_URL: `http://127.0.0.1:${plcPort}`,
  PDS_ADMIN_PASSWORD: env.PDS_ADMIN_PASSWORD || 'admin-pass',
  PDS_INVITE_REQUIRED: 'false',
  PDS_DEV_MODE: 'true', // plain http, and handles under .test
  LOG_ENABLED: env.LOG_ENABLED || 'false', // set LOG_ENABLED=true to see the PDS's own logs
})
// Throwaway keys: nothing signed by one run has to be verifiable by the next.
for (const name of ['PDS_JWT_SECRET', 'PDS_DPOP_SECRET', 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX',
  'PDS_REPO_SIGNING_KEY_K256_PRIVATE_KEY_HEX']) {
  env[name] = randomBytes(32).toString('hex')
}

// Both servers call app.listen(port), which binds every interface; tests must not be reachable
// from outside this machine.
function bindLoopback(app) {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, '127.0.0.1', ...rest.filter((arg) => typeof arg === 'function'))
}

let plc, pds
try {
  plc = PlcServer.create({ db: Database.mock(), port: plcPort })
  bindLoopback(plc.app)
  await plc.start()
  pds = await PDS.create(envToCfg(readEnv()), envToSecrets(readEnv()))
  bindLoopback(pds.app)
  await pds.start()
} catch (error) {
  console.error(error) // servers.py shows the end of stderr when READY never comes
  process.exit(1)
}
console.log('READY')

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  // destroy() waits for open connections to finish; don't let a stuck client hold the tests up.
  setTimeout(() => process.exit(0), 5000).unref()
  await pds.destroy().catch((error) => console.error(error))
  await plc.destroy().catch((error) => console.error(error))
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// servers.py keeps our stdin open: when it closes, the test process is gone (even killed with -9).
if (env.PEER_EXIT_ON_STDIN_EOF) process.stdin.on('end', stop).resume()

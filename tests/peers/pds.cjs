// A real Bluesky PDS (@atproto/pds) with its own PLC directory, both on 127.0.0.1 only.
// Configuration comes from the environment (servers.py sets it; see peers.md for the names).
const { PlcServer, Database } = require('@did-plc/server')
const { PDS, envToCfg, envToSecrets, readEnv } = require('@atproto/pds')

// Both servers listen on every interface by default; tests must never be reachable from outside.
function bindLoopback(app) {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, '127.0.0.1', ...rest.filter((arg) => typeof arg === 'function'))
}

async function main() {
  const plc = PlcServer.create({ db: Database.mock(), port: Number(process.env.PLC_PORT) })
  bindLoopback(plc.app)
  await plc.start()
  const env = readEnv()
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  bindLoopback(pds.app)
  await pds.start()
  console.log('READY')
  const stop = async () => {
    await pds.destroy()
    await plc.destroy()
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

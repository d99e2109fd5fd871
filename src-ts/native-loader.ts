// Loads the generated napi-rs loader (index.js, never edited) and replaces its failure, generic advice
// that names npm/cli#4828 and a wasm32-wasi package this project does not publish, with one that says
// which platform package is missing and how to get it.

/** Minimum Rust to build the addon from source; the Cargo manifests' `rust-version` (a test keeps them equal). */
export const RUST_VERSION = '1.89'

interface PackageInfo {
  name: string
  version: string
  napi?: { packageName?: string; targets?: string[] }
}

/** Rust target triple -> napi-rs's platform suffix (`x86_64-unknown-linux-gnu` -> `linux-x64-gnu`). */
export function suffixOfTriple(triple: string): string {
  const [cpu, , os, abi] = triple.split('-')
  const arch = cpu === 'x86_64' ? 'x64' : cpu === 'aarch64' ? 'arm64' : cpu === 'i686' ? 'ia32' : cpu
  if (triple.includes('apple-darwin')) return `darwin-${arch}`
  if (triple.includes('windows-msvc')) return `win32-${arch}-msvc`
  if (os === 'linux') return `linux-${arch}-${abi}`
  return `${os}-${arch}`
}

function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return !report?.header?.glibcVersionRuntime
}

/** This machine's napi-rs platform suffix. */
export function currentPlatformSuffix(): string {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function causes(err: unknown): string {
  const seen: string[] = []
  for (let e: unknown = err; e instanceof Error && seen.length < 8; e = e.cause) seen.push(e.message.split('\n')[0])
  return seen.slice(1).join('; ')
}

/** The error to throw when the generated loader found no binding. */
export function missingBindingError(err: unknown, pkg: PackageInfo, resolves: (id: string) => boolean): Error {
  const suffix = currentPlatformSuffix()
  const platformPackage = `${pkg.napi?.packageName ?? pkg.name}-${suffix}`
  const published = (pkg.napi?.targets ?? []).map(suffixOfTriple)
  const fromSource =
    `build it from source instead: in a clone of the repository, \`npm install\` builds the addon (needs Rust >= ${RUST_VERSION}, ` +
    `https://rustup.rs)`
  let message: string
  // The generated loader's own error (generic advice, a wasm32-wasi package) is kept as `cause` only where
  // it carries news: when the platform package is there and its addon failed to load.
  let cause: unknown
  if (!published.includes(suffix)) {
    message =
      `${pkg.name}: no prebuilt native addon exists for this platform (${suffix}; published: ${published.join(', ')}); ${fromSource}.`
  } else if (!resolves(`${platformPackage}/package.json`)) {
    message =
      `${pkg.name}: the native addon for this platform is missing: its package ${platformPackage}@${pkg.version} ` +
      `(an optional dependency of ${pkg.name}) is not installed. npm leaves it out when optional dependencies are ` +
      `omitted (--omit=optional, --no-optional) or the lock file was made on another platform. Install it with ` +
      `\`npm install ${platformPackage}@${pkg.version}\`, or ${fromSource}.`
  } else {
    cause = err
    message =
      `${pkg.name}: ${platformPackage} is installed but its addon failed to load (${causes(err) || String(err)}). ` +
      `Reinstall it with \`npm install ${platformPackage}@${pkg.version}\`, or ${fromSource}.`
  }
  const out = (cause === undefined ? new Error(message) : new Error(message, { cause })) as Error & { code: string }
  out.code = 'ERR_DYNAMO_NATIVE_BINDING'
  return out
}

/**
 * Runs `load` (a `require` of the generated loader) and, when it finds no binding, throws an error naming the
 * platform package. Any other error (a bug in the addon's initialisation) is rethrown unchanged.
 */
export function loadNative<T>(load: () => T, pkg: () => PackageInfo): T {
  try {
    return load()
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('Cannot find native binding')) throw err
    throw missingBindingError(err, pkg(), (id) => {
      try {
        require.resolve(id)
        return true
      } catch {
        return false
      }
    })
  }
}

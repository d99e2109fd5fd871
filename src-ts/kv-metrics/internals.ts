import { argError } from '../binding/args'
import type { NativeRuntime } from '../binding/native'
import type { Shared } from '../plane/state'
import { Component, Namespace } from '../runtime/levels'

/**
 * What Method 1 needs of a hierarchy object: the native runtime and the names the NATS subjects
 * are built from. Read from the objects' internal fields (one place, so a rename there is one
 * fix here).
 */
export function componentParts(c: Component, where: string): { rt: NativeRuntime; namespace: string; component: string } {
  if (!(c instanceof Component)) throw argError('ERR_DYNAMO_INVALID_ARGUMENT', where, 'component', c, 'a Component (runtime.namespace(ns).component(name))')
  const x = c as unknown as { shared: Shared; namespacePath: string }
  return { rt: x.shared.rt, namespace: x.namespacePath, component: c.name }
}

export function namespaceParts(n: Namespace, where: string): { rt: NativeRuntime; namespace: string } {
  if (!(n instanceof Namespace)) throw argError('ERR_DYNAMO_INVALID_ARGUMENT', where, 'namespace', n, 'a Namespace (runtime.namespace(name))')
  const x = n as unknown as { shared: Shared; path: string }
  return { rt: x.shared.rt, namespace: x.path }
}

/** The binding's handles, named from the runtime's methods (no edit of the shared binding types). */
export type NativeKvPublisher = Awaited<ReturnType<NativeRuntime['kvPublisherStart']>>
export type NativeKvAggregator = ReturnType<NativeRuntime['kvAggregatorStart']>

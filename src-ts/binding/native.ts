// The generated napi-rs loader at the package root (index.js); never edited by hand.
import type * as Binding from '../../index'

import { loadNative } from '../native-loader'

export const native: typeof Binding = loadNative(() => require('../../../index.js'), () => require('../../../package.json'))

export type NativeRuntime = Binding.NativeRuntime
export type FamilyInfo = Binding.FamilyInfo
export type ScrapeRequest = Binding.ScrapeRequest
export type NatsEvent = Binding.NatsEvent
export type NatsServed = Binding.NatsServed
export type NatsInstance = Binding.NatsInstance
export type NatsCaller = Binding.NatsCaller
export type NatsReply = Binding.NatsReply

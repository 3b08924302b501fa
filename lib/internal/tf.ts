// The one place lib/ imports cdktf from, so the framework surface the library
// relies on is visible at a glance (the provider bindings: ./providers.ts).
export { Annotations, Aspects, DataResource, DefaultTokenResolver, dependable, Fn, Lazy, Manifest, Op, StringConcat, TerraformDataSource, TerraformElement, TerraformResource, TerraformStack, TerraformVariable, Token, Tokenization } from 'cdktf';
export type { IPostProcessor, IResolvable, IResolveContext, ITerraformDependable, IStackSynthesizer, ISynthesisSession } from 'cdktf';

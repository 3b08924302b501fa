// The one place lib/ imports cdktf from, so the framework surface the library
// relies on is visible at a glance (the provider bindings: ./providers.ts).
export { Annotations, Aspects, DataResource, DataTerraformRemoteStateLocal, DefaultTokenResolver, dependable, Fn, Lazy, LocalBackend, Manifest, Op, StringConcat, TerraformDataSource, TerraformElement, TerraformLocal, TerraformOutput, TerraformResource, TerraformStack, TerraformVariable, Token, Tokenization } from 'cdktf';
export type { IPostProcessor, IResolvable, IResolveContext, ITerraformDependable, IStackSynthesizer, ISynthesisSession } from 'cdktf';

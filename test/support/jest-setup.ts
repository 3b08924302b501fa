import { Testing } from 'cdktf';
// The matchers' type declarations (toHaveResourceWithProperties, ...).
import 'cdktf/lib/testing/adapters/jest';

Testing.setupJest();

// The exec storm's target: exits at once. Built static when the toolchain can (no dynamic loader: cheaper exec).
int main(void) { return 0; }

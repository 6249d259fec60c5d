/*
 * The copies of a 1 MiB round trip through shared memory on one CPU, in one
 * process and with no hand-over: the client's message into the slot (A to
 * S), the server's copy out (S to B), its reply in (B to S), the client's
 * copy out (S to C). Printed for glibc's memcpy, `rep movsb`, an AVX-512
 * loop and non-temporal stores, each against one copy between two buffers
 * (the bench's `memcpy` reference) and the goal's line, three times that
 * copy per direction. BENCHMARKS.md, "Goal 5 on one CPU".
 *
 *   gcc -O2 -o four-copies docs/measurements/four-copies.c && taskset -c 1 ./four-copies
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <immintrin.h>
#define MB (1<<20)
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static void movsb(void*d,const void*s,size_t n){asm volatile("rep movsb":"+D"(d),"+S"(s),"+c"(n)::"memory");}
__attribute__((target("avx512f"))) static void nt(void*d,const void*s,size_t n){
  for(size_t i=0;i<n;i+=64){__m512i v=_mm512_load_si512((char*)s+i);_mm512_stream_si512((void*)((char*)d+i),v);} _mm_sfence();}
__attribute__((target("avx512f"))) static void v512(void*d,const void*s,size_t n){
  for(size_t i=0;i<n;i+=256){
   __m512i a=_mm512_load_si512((char*)s+i),b=_mm512_load_si512((char*)s+i+64),c=_mm512_load_si512((char*)s+i+128),e=_mm512_load_si512((char*)s+i+192);
   _mm512_store_si512((char*)d+i,a);_mm512_store_si512((char*)d+i+64,b);_mm512_store_si512((char*)d+i+128,c);_mm512_store_si512((char*)d+i+192,e);}}
typedef void(*cpf)(void*,const void*,size_t);
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
static void run(const char*name,cpf f){
  char *A=aligned_alloc(4096,MB),*B=aligned_alloc(4096,MB),*C=aligned_alloc(4096,MB),*S=aligned_alloc(4096,MB);
  memset(A,1,MB);memset(B,2,MB);memset(C,3,MB);memset(S,4,MB);
  double best[20];int R=20;
  for(int r=0;r<R;r++){double t=now();
    for(int k=0;k<20;k++){f(S,A,MB);f(B,S,MB);f(S,B,MB);f(C,S,MB);}
    best[r]=(now()-t)/20/1000;}
  qsort(best,R,8,cmp);
  double t2[20];
  for(int r=0;r<R;r++){double t=now();for(int k=0;k<80;k++)f(B,A,MB);t2[r]=(now()-t)/80/1000;}
  qsort(t2,R,8,cmp);
  printf("%-8s 4-copy rt %.1f us (per copy %.1f); single hot copy %.1f us = %.1f GB/s; third-line %.1f us\n",name,best[R/2],best[R/2]/4,t2[R/2],MB/t2[R/2]/1e3,3*2*t2[R/2]);
  free(A);free(B);free(C);free(S);
}
int main(){for(int i=0;i<3;i++){run("memcpy",(cpf)memcpy);run("movsb",movsb);run("v512",v512);run("nt",nt);}}

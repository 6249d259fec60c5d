/* The measurement behind baton's doorbell choice (docs/DESIGN.md).
 *
 * Two processes ping-pong 50,000 times, nine runs each, alternating:
 *   futex pp:             FUTEX_WAKE + FUTEX_WAIT on a shared memfd, both ways;
 *   eventfd+epoll/futex:  client -> server by an eventfd the server waits on
 *                         with epoll (baton's doorbell), server -> client by futex.
 * Prints the median round trip of each.
 *
 *   gcc -O2 -o doorbell docs/measurements/doorbell.c
 *   ./doorbell 0 0    # client CPU, server CPU (-1: unpinned)
 *   ./doorbell 0 1
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include <sched.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <linux/futex.h>
#include <stdatomic.h>
static long fx(void*a,int op,int v){return syscall(SYS_futex,a,op,v,0,0,0);}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
#define N 50000
static void pin(int c){ if(c<0)return; cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);sched_setaffinity(0,sizeof s,&s);}
struct shm { _Atomic uint32_t a; char pad[60]; _Atomic uint32_t b; char pad2[60];};
double futexpp(int cc,int sc){
  int fd=memfd_create("x",0); ftruncate(fd,4096);
  struct shm*s=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED,fd,0);
  if(!fork()){pin(sc); for(int i=0;i<N;i++){ while(atomic_load(&s->a)==0) fx(&s->a,FUTEX_WAIT,0); atomic_store(&s->a,0); atomic_store(&s->b,1); fx(&s->b,FUTEX_WAKE,1);} _exit(0);}
  pin(cc); double t=now();
  for(int i=0;i<N;i++){ atomic_store(&s->a,1); fx(&s->a,FUTEX_WAKE,1); while(atomic_load(&s->b)==0) fx(&s->b,FUTEX_WAIT,0); atomic_store(&s->b,0);}
  double r=(now()-t)/N/1000; wait(0); return r;
}
double evpp(int cc,int sc){
  int fd=memfd_create("x",0); ftruncate(fd,4096);
  struct shm*s=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED,fd,0);
  int efd=eventfd(0,EFD_NONBLOCK); int ep=epoll_create1(0); struct epoll_event e={.events=EPOLLIN|EPOLLET}; epoll_ctl(ep,EPOLL_CTL_ADD,efd,&e);
  if(!fork()){pin(sc); struct epoll_event ev; for(int i=0;i<N;i++){ while(atomic_load(&s->a)==0) epoll_wait(ep,&ev,1,-1); atomic_store(&s->a,0); atomic_store(&s->b,1); fx(&s->b,FUTEX_WAKE,1);} _exit(0);}
  pin(cc); double t=now(); uint64_t one=1;
  for(int i=0;i<N;i++){ atomic_store(&s->a,1); write(efd,&one,8); while(atomic_load(&s->b)==0) fx(&s->b,FUTEX_WAIT,0); atomic_store(&s->b,0);}
  double r=(now()-t)/N/1000; wait(0); return r;
}
int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int c,char**v){int cc=atoi(v[1]),sc=atoi(v[2]); double f[9],e[9];
 for(int i=0;i<9;i++){f[i]=futexpp(cc,sc); e[i]=evpp(cc,sc);}
 qsort(f,9,8,cmp); qsort(e,9,8,cmp); printf("median futex pp %.2f, eventfd+epoll/futex %.2f\n",f[4],e[4]);}

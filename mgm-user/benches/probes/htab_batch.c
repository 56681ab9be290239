/* ns per element of batched inserts and deletes into a BPF hash map shaped like MGM_MEMBERS; see README.md. */
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static long bpf(int cmd, union bpf_attr *a){return syscall(SYS_bpf,cmd,a,sizeof *a);}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
int main(int argc,char**argv){int flags=atoi(argv[1]);int max=atoi(argv[2]);int N=atoi(argv[3]);
union bpf_attr a;memset(&a,0,sizeof a);a.map_type=BPF_MAP_TYPE_HASH;a.key_size=8;a.value_size=40;a.max_entries=max;a.map_flags=flags;
int fd=bpf(BPF_MAP_CREATE,&a);if(fd<0){perror("create");return 1;}
unsigned long long *keys=calloc(N,8);char *vals=calloc(N,40);for(int i=0;i<N;i++)keys[i]=0x0100000000ULL*i+ i*7919;
for(int round=0;round<3;round++){
 for(int i=0;i<N;i++)keys[i]+=1;
 double t0=now();int done=0;
 for(int off=0;off<N;off+=8){memset(&a,0,sizeof a);a.batch.map_fd=fd;a.batch.keys=(unsigned long)(keys+off);a.batch.values=(unsigned long)(vals+off*40);a.batch.count=8;
  if(bpf(BPF_MAP_UPDATE_BATCH,&a)<0){perror("upd");return 1;} done+=a.batch.count;}
 double t1=now();
 // delete them again
 for(int off=0;off<N;off+=8){memset(&a,0,sizeof a);a.batch.map_fd=fd;a.batch.keys=(unsigned long)(keys+off);a.batch.count=8;bpf(BPF_MAP_DELETE_BATCH,&a);}
 double t2=now();
 printf("flags %d max %d: insert %.0f ns/elem, delete %.0f ns/elem (batches of 8)\n",flags,max,(t1-t0)/N,(t2-t1)/N);}
}
